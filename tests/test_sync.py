"""Offline sync through the contract's SyncConversations, ConversationChanges and
Conversation, and the Residents list: what an organiser's phone and an admin see."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.campaigns import watermark
from server.campaigns.enums import CampaignStatus, QuestionKind
from server.campaigns.models import (
    Answer,
    Campaign,
    Consent,
    Conversation,
    FollowUp,
    QuestionSet,
    Resident,
    Theme,
)
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.models import Reminder
from tests.campaign_rows import add_campaigns, question
from tests.conftest import GraphQLClient, Org

TEXT = question("What matters to you here?", QuestionKind.TEXT, required=True)
SCALE = question("How safe do you feel?", QuestionKind.SCALE)
CHOICE = question("What first?", QuestionKind.SINGLE_CHOICE, choices=["Bins", "Parking"])


async def _campaign(services: Services, org: Org, **more: Any) -> Campaign:
    (campaign,) = await add_campaigns(
        services, org, ["Listening"], organisers=[org.members[Role.ORGANISER].id], **more
    )
    async with services.db.session() as session:
        await session.execute(
            sa.update(QuestionSet)
            .where(col(QuestionSet.campaign_id) == campaign.id)
            .values(questions=[TEXT, SCALE, CHOICE])
        )
        await session.commit()
    return campaign


def _item(campaign: Campaign, **more: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "campaignId": str(campaign.id),
        "baseVersion": None,
        "occurredAt": "2026-11-30T10:15:00Z",
        "questionSetVersion": 1,
        "answers": [
            {"questionId": TEXT["id"], "text": "The bins"},
            {"questionId": SCALE["id"], "number": 4},
            {"questionId": CHOICE["id"], "choices": ["Bins"]},
        ],
        "themes": ["Bins", "bins "],
        "wantsInvolvement": True,
    }
    item.update(more)
    return item


def _consent(store: bool) -> dict[str, Any]:
    return {
        "storeDetails": store,
        "contactAgain": store,
        "hearBack": False,
        "recordedAt": "2026-11-30T10:14:00Z",
    }


async def _sync(
    gql: GraphQLClient, org: Org, items: list[dict[str, Any]], role: Role = Role.ORGANISER
) -> dict[str, Any]:
    data = await gql.op(
        "SyncConversations", {"input": {"conversations": items}}, token=org.token(role)
    )
    result: dict[str, Any] = data["syncConversations"]
    return result


async def _count(services: Services, table: Any) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def _statuses(result: dict[str, Any]) -> list[str]:
    return [r["status"] for r in result["results"]]


async def test_a_batch_applies_each_item_on_its_own_and_a_replay_stores_nothing_twice(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    with_resident = _item(
        campaign,
        resident={
            "id": str(uuid.uuid4()),
            "name": "Pat Doe",
            "postcode": "m13 9pl",
            "email": "Pat@Example.org",
            "phone": "07911 123456",
            "consent": _consent(True),
        },
        followUp={
            "id": str(uuid.uuid4()),
            "dueAt": (utcnow() + timedelta(days=2)).isoformat(),
            "note": "Call back",
        },
    )
    anonymous = _item(
        campaign,
        resident={
            "id": str(uuid.uuid4()),
            "name": "Sam Secret",
            "email": "sam@example.org",
            "phone": "07911 654321",
            "consent": _consent(False),
        },
    )
    bad_answer = _item(campaign, answers=[{"questionId": SCALE["id"], "number": 9}])
    bad_email = _item(
        campaign,
        resident={
            "id": str(uuid.uuid4()),
            "name": "Kim",
            "email": "not an email",
            "consent": _consent(True),
        },
    )
    batch = [with_resident, anonymous, bad_answer, bad_email]
    result = await _sync(gql, org, batch)
    assert _statuses(result) == ["CREATED", "CREATED", "REJECTED", "CREATED"]
    errors = [[(e["field"], e["code"]) for e in r["userErrors"]] for r in result["results"]]
    assert errors == [
        [],
        [],
        [("answers.0.number", "INVALID"), ("answers", "REQUIRED")],
        [("resident.email", "INVALID")],
    ]
    first = result["results"][0]["conversation"]
    assert first["version"] == 1 and first["resident"]["name"] == "Pat Doe"
    assert first["resident"]["postcode"] == "M13 9PL"
    assert [t["name"] for t in first["themes"]] == ["Bins"]  # one theme, first spelling
    assert result["results"][1]["conversation"]["resident"] is None

    async with services.db.session() as session:
        people = (await session.scalars(sa.select(Resident))).all()
        # Without consent nothing identifying is kept, anywhere.
        assert sorted(p.name or "" for p in people) == ["Kim", "Pat Doe"]
        pat = next(p for p in people if p.name == "Pat Doe")
        assert (pat.email, pat.phone) == ("pat@example.org", "+447911123456")
        kim = next(p for p in people if p.name == "Kim")
        assert kim.email is None
        lines = (
            await session.scalars(sa.select(Consent).where(col(Consent.resident_id) == pat.id))
        ).all()
        assert sorted((c.kind.value, c.granted, c.method.value) for c in lines) == [
            ("CONTACT_AGAIN", True, "DOORSTEP"),
            ("HEAR_BACK", False, "DOORSTEP"),
            ("STORE_DETAILS", True, "DOORSTEP"),
        ]
        notes = " ".join(
            str(c.notes) for c in (await session.scalars(sa.select(Conversation))).all()
        )
        assert "Sam" not in notes
        follow_up = await session.get(FollowUp, uuid.UUID(with_resident["followUp"]["id"]))
        assert follow_up is not None and follow_up.resident_id == pat.id
        reminders = await session.scalar(
            sa.select(sa.func.count()).where(col(Reminder.subject_id) == follow_up.id)
        )
        assert reminders == 2  # due, and the escalation
        answered = await session.scalar(
            sa.select(QuestionSet.answered_at).where(col(QuestionSet.campaign_id) == campaign.id)
        )
        assert answered is not None

    counts = [
        await _count(services, t)
        for t in (Conversation, Answer, Resident, Consent, FollowUp, Theme, Reminder)
    ]
    again = await _sync(gql, org, batch)
    assert _statuses(again) == ["UNCHANGED", "UNCHANGED", "REJECTED", "UNCHANGED"]
    assert [
        await _count(services, t)
        for t in (Conversation, Answer, Resident, Consent, FollowUp, Theme, Reminder)
    ] == counts


async def test_an_update_a_stale_copy_a_closed_campaign_and_ids_that_are_not_ours(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    other: Org = await make_org("Other")
    campaign = await _campaign(services, org)
    item = _item(campaign)
    assert _statuses(await _sync(gql, org, [item])) == ["CREATED"]
    changed = {**item, "baseVersion": 1, "notes": "Came back later"}
    updated = await _sync(gql, org, [changed])
    assert _statuses(updated) == ["UPDATED"]
    assert updated["results"][0]["version"] == 2
    stale = {**item, "baseVersion": 1, "notes": "Another phone's edit"}
    conflict = (await _sync(gql, org, [stale]))["results"][0]
    assert conflict["status"] == "CONFLICT"
    assert conflict["conversation"]["notes"] == "Came back later"  # the server's copy
    assert conflict["conversation"]["version"] == 2
    # The same id in another organisation's batch is not theirs to see or change.
    their_campaign = await _campaign(services, other)
    theirs = {**_item(their_campaign), "id": item["id"]}
    rejected = (await _sync(gql, other, [theirs]))["results"][0]
    assert (rejected["status"], rejected["userErrors"][0]["code"]) == ("REJECTED", "NOT_FOUND")
    # A campaign the organiser is not assigned to, and one of another organisation.
    (unassigned,) = await add_campaigns(services, org, ["Not mine"], questions=0)
    result = await _sync(gql, org, [_item(unassigned), _item(their_campaign)])
    assert [
        (r["status"], r["userErrors"][0]["field"], r["userErrors"][0]["code"])
        for r in result["results"]
    ] == [
        ("REJECTED", "campaignId", "NOT_FOUND"),
        ("REJECTED", "campaignId", "NOT_FOUND"),
    ]
    async with services.db.session() as session:
        await session.execute(
            sa.update(Campaign)
            .where(col(Campaign.id) == campaign.id)
            .values(status=CampaignStatus.CLOSED)
        )
        await session.commit()
    closed = await _sync(
        gql, org, [_item(campaign), item | {"baseVersion": 2, "notes": "Came back later"}]
    )
    assert [(r["status"], [e["code"] for e in r["userErrors"]]) for r in closed["results"]] == [
        ("REJECTED", ["CLOSED"]),
        ("UNCHANGED", []),
    ]
    # Too many at once is one clear error.
    body = await gql.raw(
        "mutation($input: SyncConversationsInput!) "
        "{ syncConversations(input: $input) { serverTime } }",
        {"input": {"conversations": [_item(campaign) for _ in range(501)]}},
        token=org.token(Role.ORGANISER),
    )
    assert "at most 500" in body["errors"][0]["message"]
    assert await _count(services, Conversation) == 1


async def test_who_reads_which_conversation_and_resident(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    resident = {
        "id": str(uuid.uuid4()),
        "name": "Pat",
        "email": "pat@example.org",
        "phone": "07911 123456",
        "consent": _consent(True),
    }
    item = _item(campaign, resident=resident)
    await _sync(gql, org, [item], role=Role.ADMIN)  # staff may log one too
    seen = await gql.op("Conversation", {"id": item["id"]}, token=org.token(Role.ORGANISER))
    assert seen["conversation"]["resident"] == {
        "id": resident["id"],
        "name": "Pat",
        "postcode": None,
    }
    changes = await gql.op(
        "ConversationChanges", {"campaignId": str(campaign.id)}, token=org.token(Role.ORGANISER)
    )
    assert [e["node"]["id"] for e in changes["conversations"]["edges"]] == [item["id"]]
    # A trainer not assigned to the campaign sees neither the conversation nor its changes.
    assert (await gql.op("Conversation", {"id": item["id"]}, token=org.token(Role.TRAINER)))[
        "conversation"
    ] is None
    none = await gql.op(
        "ConversationChanges", {"campaignId": str(campaign.id)}, token=org.token(Role.TRAINER)
    )
    assert none["conversations"]["edges"] == []
    # Residents: email and phone for admins and senior organisers, searched any case.
    for search in ("PAT", "pat@EXAMPLE", "07911123456", None):
        found = await gql.op(
            "Residents", {"search": search}, token=org.token(Role.SENIOR_ORGANISER)
        )
        assert [(e["node"]["email"], e["node"]["phone"]) for e in found["residents"]["edges"]] == [
            ("pat@example.org", "+447911123456")
        ]
    assert (await gql.op("Residents", {"search": "nobody"}, token=org.token()))["residents"][
        "totalCount"
    ] == 0
    body = await gql.raw("{ residents { totalCount } }", token=org.token(Role.ORGANISER))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_copies_of_one_batch_at_once_store_it_once(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    batch = [
        _item(
            campaign,
            resident={"id": str(uuid.uuid4()), "name": f"R{i}", "consent": _consent(True)},
            followUp={"id": str(uuid.uuid4()), "dueAt": (utcnow() + timedelta(days=1)).isoformat()},
            themes=[f"Theme {i % 3}"],
        )
        for i in range(30)
    ]
    first, second = await asyncio.gather(_sync(gql, org, batch), _sync(gql, org, batch))
    for i in range(len(batch)):
        assert sorted([_statuses(first)[i], _statuses(second)[i]]) == ["CREATED", "UNCHANGED"]
    assert await _count(services, Conversation) == 30
    assert await _count(services, Resident) == 30
    assert await _count(services, FollowUp) == 30
    assert await _count(services, Theme) == 3


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_since_from_sync_never_misses_a_row_committed_late(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """A slow write (started, row stamped, not committed) and a fast sync that commits:
    the serverTime the fast one returns, passed back later, still finds the slow row.
    (PostgreSQL only: SQLite lets one writer in at a time, so there a fast write waits.)"""
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    prefix = services.settings.redis_prefix
    slow_id = uuid.uuid4()
    writing = watermark.writing(services.redis, prefix, org.organisation.id)
    async with writing, services.db.session() as slow:
        slow.add(
            Conversation(
                id=slow_id,
                organisation_id=org.organisation.id,
                campaign_id=campaign.id,
                organiser_id=org.members[Role.ORGANISER].id,
                content_hash="slow",
                occurred_at=utcnow(),
                question_set_version=1,
            )
        )
        await slow.flush()
        await asyncio.sleep(0.05)
        fast = await _sync(gql, org, [_item(campaign)])
        assert fast["results"][0]["status"] == "CREATED"
        since = fast["serverTime"]
        await slow.commit()
    later = await gql.op(
        "ConversationChanges",
        {"campaignId": str(campaign.id), "since": since},
        token=org.token(Role.ORGANISER),
    )
    ids = {e["node"]["id"] for e in later["conversations"]["edges"]}
    assert str(slow_id) in ids and fast["results"][0]["id"] in ids
