"""What writing a sync batch in bulk risks: every status in one batch, a concurrent copy
committing part of the batch between our read and our write, the per-item fallback, and
a replay that writes nothing (its statements do not grow with the batch)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.campaigns import sync, sync_items, sync_plan, sync_write
from server.campaigns.answers import AnswerData
from server.campaigns.enums import CampaignStatus
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Consent,
    Conversation,
    ConversationTheme,
    FollowUp,
    Resident,
    Theme,
)
from server.campaigns.residents import ConsentData, ResidentData
from server.core.bulk import insert_rows
from server.core.enums import Role
from server.core.models import table_of, utcnow
from server.core.services import Services
from server.notifications.models import Reminder
from server.security.access import Actor
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.test_sync import _campaign, _consent, _count, _item, _statuses, _sync

TABLES = (
    Conversation,
    Answer,
    AnswerChoice,
    ConversationTheme,
    Resident,
    Consent,
    FollowUp,
    Theme,
    Reminder,
)


def _full(campaign: Any, i: int, **more: Any) -> dict[str, Any]:
    """An item with a consenting resident, a follow-up and two themes."""
    item = _item(
        campaign,
        resident={"id": str(uuid.uuid4()), "name": f"Resident {i}", "consent": _consent(True)},
        followUp={"id": str(uuid.uuid4()), "dueAt": (utcnow() + timedelta(days=1)).isoformat()},
        themes=[f"Theme {i % 3}", "Bins"],
    )
    return item | more


async def _counts(services: Services) -> list[int]:
    return [await _count(services, t) for t in TABLES]


def _actor(org: Org) -> Actor:
    user = org.members[Role.ORGANISER]
    return Actor(user.id, org.organisation.id, Role.ORGANISER)


def _data(items: list[dict[str, Any]]) -> list[sync.ConversationData]:
    """The domain's items for the inputs ``_full`` makes (as the GraphQL layer builds them)."""

    def one(item: dict[str, Any]) -> sync.ConversationData:
        person, follow_up = item["resident"], item["followUp"]
        consent = person["consent"]
        return sync.ConversationData(
            id=item["id"],
            campaign_id=item["campaignId"],
            occurred_at=_time(item["occurredAt"]),
            question_set_version=item["questionSetVersion"],
            answers=[
                AnswerData(a["questionId"], a.get("text"), a.get("number"), a.get("choices"))
                for a in item["answers"]
            ],
            themes=item["themes"],
            wants_involvement=item["wantsInvolvement"],
            resident=ResidentData(
                id=person["id"],
                consent=ConsentData(
                    consent["storeDetails"],
                    consent["contactAgain"],
                    consent["hearBack"],
                    _time(consent["recordedAt"]),
                ),
                name=person["name"],
            ),
            follow_up=sync.FollowUpData(follow_up["id"], _time(follow_up["dueAt"])),
        )

    return [one(i) for i in items]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_one_batch_with_every_status_keeps_each_result_in_its_place(
    gql: GraphQLClient, make_org: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    org: Org = await make_org()
    other: Org = await make_org("Other")
    campaign = await _campaign(services, org)
    (closed,) = await add_campaigns(
        services,
        org,
        ["Closed"],
        status=CampaignStatus.CLOSED,
        organisers=[org.members[Role.ORGANISER].id],
    )
    their_campaign = await _campaign(services, other)
    kept, changed, stale, met = (_full(campaign, i) for i in (0, 1, 2, 5))
    theirs = _item(their_campaign)
    assert _statuses(await _sync(gql, org, [kept, changed, stale, met])) == ["CREATED"] * 4
    assert _statuses(await _sync(gql, other, [theirs])) == ["CREATED"]
    their_follow_up = {"id": str(uuid.uuid4()), "dueAt": utcnow().isoformat()}
    await _sync(gql, other, [_item(their_campaign, followUp=their_follow_up)])
    before = await _counts(services)

    async def not_item_by_item(*args: Any) -> Any:
        raise AssertionError("the batch went item by item")

    monkeypatch.setattr(sync_items, "apply_each", not_item_by_item)
    batch = [
        _full(campaign, 3),  # CREATED
        kept,  # UNCHANGED
        {**changed, "baseVersion": 1, "notes": "Came back"},  # UPDATED
        {**stale, "baseVersion": 0, "notes": "Old phone"},  # CONFLICT
        _item(campaign, answers=[]),  # REJECTED: the required question
        _item(closed),  # REJECTED: closed
        {**_item(campaign), "id": theirs["id"]},  # REJECTED: their conversation's id
        _item(campaign, resident={"id": "nope", "consent": _consent(True)}),  # REJECTED
        _full(campaign, 4, followUp=their_follow_up),  # CREATED, their follow-up's id refused
        _item(
            campaign,
            resident={
                "id": str(uuid.uuid4()),
                "name": "Kim",
                "email": "no",
                "consent": _consent(True),
            },
        ),  # CREATED, the email dropped
        _item(
            campaign,
            resident=met["resident"]
            | {
                "name": "Resident 5 again",
                "consent": {
                    **_consent(True),
                    "contactAgain": False,
                    "recordedAt": "2026-11-30T11:00:00Z",
                },
            },
        ),
        # CREATED: a known resident met again, renamed, no longer to be contacted
    ]
    result = await _sync(gql, org, batch)
    assert [(r["id"], r["status"]) for r in result["results"]] == [
        (item["id"], status)
        for item, status in zip(
            batch,
            [
                "CREATED",
                "UNCHANGED",
                "UPDATED",
                "CONFLICT",
                "REJECTED",
                "REJECTED",
                "REJECTED",
                "REJECTED",
                "CREATED",
                "CREATED",
                "CREATED",
            ],
            strict=True,
        )
    ]
    errors = [[(e["field"], e["code"]) for e in r["userErrors"]] for r in result["results"]]
    assert errors == [
        [],
        [],
        [],
        [],
        [("answers", "REQUIRED")],
        [("campaignId", "CLOSED")],
        [("id", "NOT_FOUND")],
        [("resident.id", "NOT_FOUND")],
        [("followUp.id", "NOT_FOUND")],
        [("resident.email", "INVALID")],
        [],
    ]
    versions = [r["version"] for r in result["results"]]
    assert versions == [1, 1, 2, 1, None, None, None, None, 1, 1, 1]
    conflict = result["results"][3]["conversation"]
    assert conflict["notes"] is None and conflict["version"] == 1  # the server's copy
    created = result["results"][0]["conversation"]
    assert created["resident"]["name"] == "Resident 3"
    assert sorted(t["name"] for t in created["themes"]) == ["Bins", "Theme 0"]
    assert len(created["answers"]) == 3
    assert result["results"][2]["conversation"]["notes"] == "Came back"

    after = dict(zip(TABLES, await _counts(services), strict=True))
    grown = {t.__tablename__: after[t] - n for t, n in zip(TABLES, before, strict=True)}
    assert grown == {
        "conversations": 4,
        "answers": 12,  # three each; the update's three replaced
        "answer_choices": 4,
        "conversation_themes": 6,  # two each for the full ones, one for the others
        "residents": 3,
        "consents": 10,  # three for each new resident, one for the change
        "follow_ups": 1,  # their follow-up's id stores nothing
        "themes": 0,  # Theme 0 and Bins were there already
        "reminders": 2,
    }
    async with services.db.session() as session:
        kim = await session.scalar(sa.select(Resident).where(col(Resident.name) == "Kim"))
        assert kim is not None and kim.email is None
        again = await session.get(Resident, uuid.UUID(met["resident"]["id"]))
        assert again is not None
        assert (again.name, again.store_details, again.contact_again) == (
            "Resident 5 again",
            True,
            False,
        )
        updated = await session.get(Conversation, uuid.UUID(changed["id"]))
        assert updated is not None and (updated.version, updated.notes) == (2, "Came back")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_rows_a_concurrent_copy_committed_meanwhile_are_found_not_doubled(
    gql: GraphQLClient, make_org: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of half the batch commits after this sync read the database and before it
    writes: the bulk INSERTs find those rows, and the batch is planned again."""
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    batch = [_full(campaign, i) for i in range(10)]
    half = _data(batch[::2])
    real_plan = sync_plan.plan
    plans: list[int] = []

    racing: list[bool] = []

    async def plan_then_race(*args: Any) -> sync_plan.Plan:
        found = await real_plan(*args)
        if racing:  # the other copy's own plan
            return found
        plans.append(len(found.accepted))
        if len(plans) == 1:
            racing.append(True)
            async with services.db.session() as other:
                copy = await sync.sync_conversations(other, services, _actor(org), half)
            racing.clear()
            assert {r.status.value for r in copy.results} == {"CREATED"}
        return found

    monkeypatch.setattr(sync_plan, "plan", plan_then_race)
    result = await _sync(gql, org, batch)
    assert plans == [10, 5]  # the second plan sees the other copy's five
    assert _statuses(result) == ["UNCHANGED", "CREATED"] * 5
    counts = dict(zip(TABLES, await _counts(services), strict=True))
    assert counts[Conversation] == counts[Resident] == counts[FollowUp] == 10
    assert (counts[Consent], counts[Reminder], counts[Theme]) == (30, 20, 4)
    assert counts[ConversationTheme] == 20


async def test_an_integrity_error_in_the_bulk_write_falls_back_to_one_item_at_a_time(
    gql: GraphQLClient, make_org: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk write meets an integrity error it does not expect (here: a row written
    twice, for real, in its last step): it rolls back whole, and the items are applied one
    by one, each as the batched path would."""
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    batch = [_full(campaign, i) for i in range(4)] + [_item(campaign, answers=[])]
    real_follow_ups = sync_write._follow_ups
    broken: list[bool] = []

    async def follow_ups_then_clash(session: Any, actor: Any, accepted: Any, now: Any) -> None:
        await real_follow_ups(session, actor, accepted, now)
        broken.append(True)
        first = accepted[0]
        again = {
            "conversation_id": first.id,
            "question_id": first.answers[0].question_id,
            "campaign_id": first.campaign_id,
            "question_set_version": 1,
        }
        await session.execute(sa.insert(table_of(Answer)), [again])  # its primary key again

    monkeypatch.setattr(sync_write, "_follow_ups", follow_ups_then_clash)
    result = await _sync(gql, org, batch)
    assert broken == [True]
    assert _statuses(result) == ["CREATED"] * 4 + ["REJECTED"]
    assert [r["conversation"]["resident"]["name"] for r in result["results"][:4]] == [
        f"Resident {i}" for i in range(4)
    ]
    counts = dict(zip(TABLES, await _counts(services), strict=True))
    assert counts == {
        Conversation: 4,
        Answer: 12,
        AnswerChoice: 4,
        ConversationTheme: 8,
        Resident: 4,
        Consent: 12,
        FollowUp: 4,
        Theme: 4,
        Reminder: 8,
    }
    # And the fallback's rows are what the bulk path stores: a replay is UNCHANGED.
    assert _statuses(await _sync(gql, org, batch)) == ["UNCHANGED"] * 4 + ["REJECTED"]


def _writes(statements: list[str]) -> list[str]:
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "audit_entries" not in s
    ]


async def test_a_replay_writes_nothing_and_costs_the_same_for_2_or_40_items(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    await _sync(gql, org, [_full(campaign, 0)])  # the question set answered, two themes
    costs: dict[int, tuple[int, int]] = {}
    for size in (2, 40):
        batch = [_full(campaign, i) for i in range(size)]
        count_queries.statements.clear()
        assert _statuses(await _sync(gql, org, batch)) == ["CREATED"] * size
        created = count_queries.count
        count_queries.statements.clear()
        assert _statuses(await _sync(gql, org, batch)) == ["UNCHANGED"] * size
        assert _writes(count_queries.statements) == []
        costs[size] = (created, count_queries.count)
    statements = "\n".join(count_queries.statements)
    assert costs[2] == costs[40], statements  # neither a new batch nor its replay grows


async def test_rows_copied_in_bulk_belong_to_the_transaction(
    make_org: Any, services: Services
) -> None:
    """``insert_rows`` as a transaction's first statement: rolled back with it."""
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    now = utcnow()
    row = {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "organisation_id": org.organisation.id,
        "subject_type": "test",
        "subject_id": campaign.id,
        "kind": "test",
        "fire_at": now,
        "status": "PENDING",
    }
    async with services.db.session() as session:
        await insert_rows(session, Reminder, [row])
        await session.rollback()
    assert await _count(services, Reminder) == 0
    async with services.db.session() as session:
        await insert_rows(session, Reminder, [row])
        await session.commit()
    assert await _count(services, Reminder) == 1
