"""Retention: each organisation's setting (months without contact, 24 unless changed) and
the nightly job that erases the details of residents not contacted for that long."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.audit.models import AuditEntry
from server.campaigns.models import Conversation, Resident
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.domains import REGISTRY
from server.notifications.service import create_notifications
from server.residents import retention
from tests.conftest import GraphQLClient, Org
from tests.resident_rows import (
    add_response,
    conversation_item,
    listening_campaign,
    meet,
    sms_to,
    sync,
)

LONG_AGO = retention.months_before(utcnow(), 30)
SETTINGS = "{ residentSettings { retentionMonths privacyNotice } }"
SET = """mutation($input: ResidentSettingsInput!) { setResidentSettings(input: $input) {
    residentSettings { retentionMonths privacyNotice } userErrors { field code } } }"""


async def _stale_resident(
    gql: GraphQLClient, services: Services, org: Org, campaign: Any, name: str
) -> uuid.UUID:
    """A resident met, everything about them dated long ago."""
    _, resident_id = await meet(gql, org, campaign, name=name)
    async with services.db.session() as session:
        await session.execute(
            sa.update(Resident)
            .where(col(Resident.id) == resident_id)
            .values(created_at=LONG_AGO, consent_recorded_at=LONG_AGO)
        )
        await session.execute(
            sa.update(Conversation)
            .where(col(Conversation.resident_id) == resident_id)
            .values(occurred_at=LONG_AGO)
        )
        await session.commit()
    return resident_id


async def _names(services: Services) -> dict[uuid.UUID, str | None]:
    async with services.db.session() as session:
        return {r.id: r.name for r in (await session.scalars(sa.select(Resident))).all()}


async def _settings(gql: GraphQLClient, org: Org, **values: Any) -> dict[str, Any]:
    data = await gql(SET, {"input": values}, token=org.token(Role.ADMIN))
    result: dict[str, Any] = data["setResidentSettings"]
    return result


async def test_the_nightly_job_erases_only_residents_past_their_organisations_retention(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    patient: Org = await make_org()
    campaign = await listening_campaign(services, org)
    stale = [await _stale_resident(gql, services, org, campaign, f"Stale {i}") for i in range(3)]
    met_again = await _stale_resident(gql, services, org, campaign, "Met again")
    item = conversation_item(campaign, occurredAt=(utcnow() - timedelta(days=1)).isoformat())
    item["resident"] = {
        "id": str(met_again),
        "consent": {
            "storeDetails": True,
            "contactAgain": True,
            "hearBack": True,
            "recordedAt": LONG_AGO.isoformat(),  # no newer: changes no consent
        },
    }
    assert (await sync(gql, org, [item]))[0]["status"] == "CREATED"  # met this month
    answered = await _stale_resident(gql, services, org, campaign, "Answered")
    await add_response(services, campaign, answered)
    messaged = await _stale_resident(gql, services, org, campaign, "Messaged")
    async with services.db.session() as session:
        await create_notifications(session, sms_to(org, messaged, "+447911123456"))
        await session.commit()
    other_campaign = await listening_campaign(services, patient)
    kept_longer = await _stale_resident(gql, services, patient, other_campaign, "Patient")
    assert (await _settings(gql, patient, retentionMonths=120))["userErrors"] == []

    job = REGISTRY.jobs["erase_stale_residents"]
    assert job.cron is not None and job.options.timeout > 60 and job.options.retries > 1
    context = SimpleNamespace(services=services)
    assert await retention.erase_stale(services, batch=2) == 3  # two batches
    names = await _names(services)
    assert [names[r] for r in stale] == [None, None, None]
    assert names[met_again] == "Met again" and names[answered] == "Answered"
    assert names[messaged] == "Messaged" and names[kept_longer] == "Patient"
    async with services.db.session() as session:
        entries = (
            await session.scalars(
                sa.select(AuditEntry).where(col(AuditEntry.action) == "resident.erase")
            )
        ).all()
    assert sorted(e.entity_id for e in entries if e.entity_id) == sorted(stale)
    assert {(e.actor_id, e.details["reason"]) for e in entries} == {(None, "retention")}

    # Nothing more to do the next night; a shorter setting reaches the other organisation.
    assert await job.function(context) == 0
    assert (await _settings(gql, patient, retentionMonths=12))["userErrors"] == []
    assert await job.function(context) == 1
    assert (await _names(services))[kept_longer] is None


async def test_retention_and_privacy_notice_are_admin_settings(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    default = {"retentionMonths": 24, "privacyNotice": None}
    assert (await gql(SETTINGS, token=org.token(Role.ADMIN)))["residentSettings"] == default
    for months in (0, 121):
        assert (await _settings(gql, org, retentionMonths=months))["userErrors"] == [
            {"field": "input.retentionMonths", "code": "INVALID"}
        ]
    assert (await _settings(gql, org, retentionMonths=6, privacyNotice=" We keep it safe. ")) == {
        "residentSettings": {"retentionMonths": 6, "privacyNotice": "We keep it safe."},
        "userErrors": [],
    }
    # Left out: unchanged; blank: back to the standard notice.
    assert (await _settings(gql, org, retentionMonths=7))["residentSettings"] == {
        "retentionMonths": 7,
        "privacyNotice": "We keep it safe.",
    }
    assert (await _settings(gql, org, privacyNotice=""))["residentSettings"] == {
        "retentionMonths": 7,
        "privacyNotice": None,
    }
    assert (await gql(SETTINGS, token=other.token(Role.ADMIN)))["residentSettings"] == default
    for role in (Role.ORGANISER, Role.SENIOR_ORGANISER):
        for query, variables in ((SETTINGS, None), (SET, {"input": {"retentionMonths": 1}})):
            body = await gql.raw(query, variables, token=org.token(role))
            assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert (await gql(SETTINGS, token=org.token(Role.ADMIN)))["residentSettings"][
        "retentionMonths"
    ] == 7


def test_months_before_keeps_the_day_where_the_month_has_it() -> None:
    assert retention.months_before(datetime(2026, 3, 31, 2, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, 2, tzinfo=UTC
    )
    assert retention.months_before(datetime(2026, 1, 15, tzinfo=UTC), 24) == datetime(
        2024, 1, 15, tzinfo=UTC
    )
    assert retention.months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )
