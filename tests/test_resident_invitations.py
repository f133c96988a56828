"""CreateInvitations and the Invitation query: links that open a narrow public view,
tokens kept only as hashes, expiry, consent-checked SMS and EMAIL sent through a worker to
the fake SMTP and Twilio servers, staff-only access and the public rate limit."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, col

from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import Delivery, DeliveryStatus, Notification
from server.residents.models import Invitation, ResidentSettings
from server.residents.texts import standard_privacy_notice
from tests.conftest import GraphQLClient, QueryCounter
from tests.contract_ops import op
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.helpers import eventually, running_worker
from tests.resident_helpers import (
    QUESTIONS,
    active_campaign,
    add_resident,
    create_invitations,
    link,
    links,
    opened,
)

URL = re.compile(r"http://doorstep\.test/r/([A-Za-z0-9_-]+)")


async def _rows_as_text(services: Services) -> str:
    """Every row of every table, as text (to look for what must not be stored)."""
    found = []
    async with services.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            found += [repr(tuple(r)) for r in await session.execute(sa.select(table))]
    return "\n".join(found)


async def test_links_open_the_narrow_public_view(gql: GraphQLClient, make_org: Any, services):
    org = await make_org("Alpha")
    campaign = await active_campaign(gql, org)
    created = await create_invitations(
        gql, org, {"campaignId": campaign.id, "channel": "LINK", "count": 3}
    )
    assert created["userErrors"] == []
    invitations = created["invitations"]
    assert len(invitations) == 3 and {i["channel"] for i in invitations} == {"LINK"}
    tokens = [URL.fullmatch(i["url"]).group(1) for i in invitations]  # type: ignore[union-attr]
    assert len(set(tokens)) == 3 and all(len(t) >= 43 for t in tokens)  # 256 random bits
    expires = datetime.fromisoformat(invitations[0]["expiresAt"])
    assert abs(expires - (utcnow() + timedelta(days=30))) < timedelta(minutes=5)

    for token in tokens:
        view = await opened(gql, token)
        assert view == {
            "expiresAt": invitations[0]["expiresAt"],
            "alreadyResponded": False,
            "privacyNotice": standard_privacy_notice("Alpha"),
            "campaign": {
                "title": "Safer streets",
                "description": None,
                "organisation": {"name": "Alpha"},
            },
            "questionSet": {
                "version": 1,
                "questions": [
                    {
                        "id": qid,
                        "kind": q["kind"],
                        "prompt": q["prompt"],
                        "choices": [],
                        "required": q["required"],
                    }
                    for qid, q in zip(
                        [campaign.text, campaign.scale, campaign.yes_no], QUESTIONS, strict=True
                    )
                ],
            },
        }
    # The organisation's own notice replaces the standard one.
    async with services.db.session() as session:
        session.add(
            ResidentSettings(organisation_id=org.organisation.id, privacy_notice="Ours, in full.")
        )
        await session.commit()
    view = await opened(gql, tokens[0])
    assert view is not None and view["privacyNotice"] == "Ours, in full."


async def test_a_token_is_stored_only_as_its_hash(gql: GraphQLClient, make_org: Any, services):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    tokens = await links(gql, org, campaign, count=2)
    stored = await _rows_as_text(services)
    assert not [t for t in tokens if t in stored]
    async with services.db.session() as session:
        hashes = set((await session.scalars(sa.select(col(Invitation.token_hash)))).all())
    assert hashes == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}


async def test_expired_and_unknown_tokens_give_the_same_null(
    gql: GraphQLClient, make_org: Any, services
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign, expiresInDays=1)
    assert await opened(gql, token) is not None
    async with services.db.session() as session:
        await session.execute(
            sa.update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert await opened(gql, token) is None
    assert await opened(gql, token[:-2] + "xy") is None
    assert await opened(gql, "") is None
    assert await opened(gql, "x" * 5000) is None


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"count": 0}, "input.count"),
        ({"count": 501}, "input.count"),
        ({"count": 1, "expiresInDays": 0}, "input.expiresInDays"),
        ({"count": 1, "expiresInDays": 366}, "input.expiresInDays"),
        ({"count": 1, "residentIds": [str(uuid.uuid4())]}, "input.residentIds"),
    ],
)
async def test_a_link_request_out_of_bounds_is_refused(
    gql: GraphQLClient, make_org: Any, services, more: dict[str, Any], field: str
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    created = await create_invitations(
        gql, org, {"campaignId": campaign.id, "channel": "LINK", **more}
    )
    assert created["invitations"] == []
    assert [(e["field"], e["code"]) for e in created["userErrors"]] == [(field, "INVALID")]
    async with services.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


async def test_limits_of_a_link_are_accepted(gql: GraphQLClient, make_org: Any):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    assert len(await links(gql, org, campaign, count=500, expiresInDays=365)) == 500
    created = await create_invitations(gql, org, {"campaignId": campaign.id, "channel": "LINK"})
    assert len(created["invitations"]) == 1  # count defaults to 1


async def test_a_closed_campaign_takes_no_invitations_but_its_links_still_open(
    gql: GraphQLClient, make_org: Any
):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token = await link(gql, org, campaign)
    data = await gql.op(
        "SetCampaignStatus", {"id": campaign.id, "status": "CLOSED"}, token=org.token()
    )
    assert data["setCampaignStatus"]["userErrors"] == []
    created = await create_invitations(gql, org, {"campaignId": campaign.id, "channel": "LINK"})
    assert created["userErrors"] == [
        {
            "field": "input.campaignId",
            "message": "This campaign is closed to responses.",
            "code": "CLOSED",
        }
    ]
    view = await opened(gql, token)
    assert view is not None and view["campaign"]["title"] == "Safer streets"


@pytest.mark.parametrize("role", [Role.TRAINER, Role.ORGANISER])
async def test_only_staff_create_invitations(gql: GraphQLClient, make_org: Any, role: Role):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    body = await gql.raw(
        op("CreateInvitations"),
        {"input": {"campaignId": campaign.id, "channel": "LINK"}},
        token=org.token(role),
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    body = await gql.raw(
        op("CreateInvitations"), {"input": {"campaignId": campaign.id, "channel": "LINK"}}
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_senior_organiser_creates_invitations(gql: GraphQLClient, make_org: Any):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    created = await create_invitations(
        gql, org, {"campaignId": campaign.id, "channel": "LINK"}, role=Role.SENIOR_ORGANISER
    )
    assert created["userErrors"] == [] and len(created["invitations"]) == 1


# --- SMS and EMAIL ---------------------------------------------------------------------


@pytest.fixture
async def smtp() -> AsyncIterator[FakeSmtp]:
    async with FakeSmtp() as fake:
        yield fake


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


def _live(settings: Settings, smtp: FakeSmtp, twilio: FakeTwilio) -> Settings:
    return settings.model_copy(
        update={
            "delivery": "live",
            "relay_interval_seconds": 0.05,
            "sweep_interval_seconds": 1,
            **smtp.settings(),
            **twilio.settings(),
        }
    )


def _mail_to(smtp: FakeSmtp, address: str) -> list[str]:
    texts = []
    for mail in smtp.received:
        if address in mail.rcpt_tos:
            body = mail.message.get_body(preferencelist=("plain",))
            assert body is not None
            texts.append(str(mail.message["Subject"]) + "\n" + body.get_content())
    return texts


async def test_email_and_sms_invitations_reach_consenting_residents_through_a_worker(
    gql: GraphQLClient, make_org: Any, services: Services, settings: Settings, smtp, twilio
):
    org = await make_org("Alpha")
    other = await make_org("Beta")
    campaign = await active_campaign(gql, org)
    rosa = await add_resident(services, org, email="rosa@example.test", phone="+447700900123")
    unwilling = await add_resident(services, org, email="no@example.test", contact_again=False)
    no_email = await add_resident(services, org, phone="+447700900456")
    theirs = await add_resident(services, other, email="theirs@example.test")
    ids = [str(rosa), str(unwilling), str(no_email), str(theirs), "not-an-id", str(rosa)]
    created = await create_invitations(
        gql, org, {"campaignId": campaign.id, "channel": "EMAIL", "residentIds": ids}
    )
    assert [(e["field"], e["code"]) for e in created["userErrors"]] == [
        ("input.residentIds.1", "FORBIDDEN"),
        ("input.residentIds.2", "INVALID"),
        ("input.residentIds.3", "NOT_FOUND"),
        ("input.residentIds.4", "NOT_FOUND"),
        ("input.residentIds.5", "INVALID"),
    ]
    assert created["userErrors"][0]["message"] == (
        "This resident has not agreed to be contacted again."
    )
    assert created["userErrors"][1]["message"] == "This resident gave no email address."
    [invitation] = created["invitations"]
    assert invitation["channel"] == "EMAIL" and invitation["url"] is None

    texted = await create_invitations(
        gql,
        org,
        {"campaignId": campaign.id, "channel": "SMS", "residentIds": [str(no_email), str(rosa)]},
    )
    assert texted["userErrors"] == [] and len(texted["invitations"]) == 2

    async with running_worker(_live(settings, smtp, twilio), services):

        async def sent() -> bool:
            async with services.db.session() as session:
                statuses = (await session.scalars(sa.select(col(Delivery.status)))).all()
            return len(statuses) == 3 and set(statuses) == {DeliveryStatus.SENT}

        await eventually(sent)
    [mail] = _mail_to(smtp, "rosa@example.test")
    assert mail.startswith("Alpha: Safer streets\n")
    assert not _mail_to(smtp, "no@example.test") and not _mail_to(smtp, "theirs@example.test")
    texts = {s.form["To"]: s.form["Body"] for s in twilio.sent}
    assert sorted(texts) == ["+447700900123", "+447700900456"]
    # Each message carries its resident's own link, which opens the invitation.
    tokens = {URL.search(text).group(1) for text in [mail, *texts.values()]}  # type: ignore[union-attr]
    assert len(tokens) == 3
    for token in tokens:
        view = await opened(gql, token)
        assert view is not None and view["campaign"]["organisation"] == {"name": "Alpha"}
    # Once sent, the links are scrubbed from the stored messages: no row holds a token.
    async with services.db.session() as session:
        residents = set((await session.scalars(sa.select(col(Notification.resident_id)))).all())
        assert await session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 3
    assert residents == {rosa, no_email}
    stored = await _rows_as_text(services)
    assert not [t for t in tokens if t in stored]


async def test_inviting_many_residents_loads_them_in_one_statement(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
):
    org = await make_org()
    campaign = await active_campaign(gql, org)

    async def statements(n: int) -> int:
        ids = [str(await add_resident(services, org, email=f"r{i}@example.test")) for i in range(n)]
        before = count_queries.count
        created = await create_invitations(
            gql, org, {"campaignId": campaign.id, "channel": "EMAIL", "residentIds": ids}
        )
        assert created["userErrors"] == [] and len(created["invitations"]) == n
        return count_queries.count - before

    one = await statements(1)
    assert await statements(40) == one
    async with services.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 41


@pytest.mark.parametrize(
    "settings_update", [{"public_requests_per_token": 2, "public_requests_per_address": 100}]
)
async def test_the_invitation_query_is_rate_limited_per_token(gql: GraphQLClient, make_org: Any):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    token, other = await links(gql, org, campaign, count=2)
    assert await opened(gql, token) is not None
    assert await opened(gql, token) is not None
    body = await gql.raw(op("Invitation"), {"token": token})
    assert body["data"] == {"invitation": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
    assert await opened(gql, other) is not None  # another token still opens


@pytest.mark.parametrize(
    "settings_update", [{"public_requests_per_token": 100, "public_requests_per_address": 3}]
)
async def test_the_invitation_query_is_rate_limited_per_address(gql: GraphQLClient, make_org):
    org = await make_org()
    campaign = await active_campaign(gql, org)
    tokens = await links(gql, org, campaign, count=4)
    for token in tokens[:3]:
        assert await opened(gql, token) is not None
    body = await gql.raw(op("Invitation"), {"token": tokens[3]})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
