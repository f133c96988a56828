"""The report's tallies, kept by sync in the same transaction as the conversations, stay
equal to a count from scratch: after creates, updates changing answers, themes and
residents, replays, conflicts, rejected items, a new question set version and (on
PostgreSQL) concurrent batches. The oracle is ``tallies.rebuild`` (one INSERT ... SELECT
over the campaign's rows) and, for the headline figures, the rows counted in Python."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.campaigns import tallies
from server.campaigns.enums import QuestionKind
from server.campaigns.models import (
    Answer,
    Campaign,
    CampaignTally,
    Conversation,
    ConversationTheme,
    QuestionSet,
)
from server.core.enums import Role
from server.core.services import Services
from tests.campaign_rows import add_campaigns, question
from tests.conftest import GraphQLClient, Org

TEXT = question("What matters?", QuestionKind.TEXT)
SCALE = question("How safe?", QuestionKind.SCALE)
YES_NO = question("Join us?", QuestionKind.YES_NO)
ONE = question("Top issue?", QuestionKind.SINGLE_CHOICE, choices=["Bins", "Parking", "Noise"])
MANY = question("Free when?", QuestionKind.MULTI_CHOICE, choices=["Mon", "Tue", "Wed"])
QUESTIONS = [TEXT, SCALE, YES_NO, ONE, MANY]
Snapshot = dict[tuple[Any, ...], int]


async def _campaign(services: Services, org: Org) -> Campaign:
    (campaign,) = await add_campaigns(
        services, org, ["Listening"], organisers=[org.members[Role.ORGANISER].id]
    )
    async with services.db.session() as session:
        await session.execute(
            sa.update(QuestionSet)
            .where(col(QuestionSet.campaign_id) == campaign.id)
            .values(questions=QUESTIONS)
        )
        await session.commit()
    return campaign


def _resident(resident_id: str, store: bool = True) -> dict[str, Any]:
    consent = {
        "storeDetails": store,
        "contactAgain": False,
        "hearBack": False,
        "recordedAt": "2026-11-30T10:14:00Z",
    }
    return {"id": resident_id, "name": "Pat", "consent": consent}


def _item(
    campaign: Campaign,
    conversation_id: str | None = None,
    *,
    scale: int = 3,
    yes: int = 1,
    one: str = "Bins",
    many: tuple[str, ...] = ("Mon",),
    themes: tuple[str, ...] = ("Bins",),
    version: int = 1,
    questions: list[dict[str, Any]] = QUESTIONS,
    **more: Any,
) -> dict[str, Any]:
    text, scale_q, yes_q, one_q, many_q = (q["id"] for q in questions)
    item: dict[str, Any] = {
        "id": conversation_id or str(uuid.uuid4()),
        "campaignId": str(campaign.id),
        "baseVersion": None,
        "occurredAt": "2026-11-30T10:15:00Z",
        "questionSetVersion": version,
        "answers": [
            {"questionId": text, "text": "Words"},
            {"questionId": scale_q, "number": scale},
            {"questionId": yes_q, "number": yes},
            {"questionId": one_q, "choices": [one]},
            {"questionId": many_q, "choices": list(many)},
        ],
        "themes": list(themes),
        "wantsInvolvement": True,
    }
    item.update(more)
    return item


async def _sync(gql: GraphQLClient, org: Org, items: list[dict[str, Any]]) -> list[str]:
    data = await gql.op(
        "SyncConversations", {"input": {"conversations": items}}, token=org.token(Role.ORGANISER)
    )
    return [r["status"] for r in data["syncConversations"]["results"]]


async def _snapshot(session: Any, campaign_id: uuid.UUID) -> Snapshot:
    rows = await session.execute(
        sa.select(CampaignTally).where(
            col(CampaignTally.campaign_id) == campaign_id, col(CampaignTally.n) != 0
        )
    )
    return {(t.kind, t.version, t.ref, t.value): t.n for (t,) in rows}


async def _kept_and_recounted(services: Services, campaign_id: uuid.UUID) -> Snapshot:
    """The tallies as sync kept them, asserted equal to a recount from the rows (which is
    rolled back, so the kept ones stay for the next step)."""
    async with services.db.session() as session:
        kept = await _snapshot(session, campaign_id)
        await tallies.rebuild(session, campaign_id)
        recounted = await _snapshot(session, campaign_id)
        await session.rollback()
    assert kept == recounted
    return kept


async def _counted_in_python(services: Services, campaign_id: uuid.UUID) -> dict[str, Any]:
    async with services.db.session() as session:
        conversations = (
            await session.scalars(
                sa.select(Conversation).where(col(Conversation.campaign_id) == campaign_id)
            )
        ).all()
        themes = (
            await session.scalars(
                sa.select(col(ConversationTheme.theme_id)).where(
                    col(ConversationTheme.campaign_id) == campaign_id
                )
            )
        ).all()
        answers = (
            await session.scalars(sa.select(Answer).where(col(Answer.campaign_id) == campaign_id))
        ).all()
    return {
        "conversations": len(conversations),
        "reached": len({c.resident_id for c in conversations if c.resident_id}),
        "involved": sum(1 for c in conversations if c.wants_involvement),
        "themes": sorted(themes.count(t) for t in set(themes)),
        "scale": sorted(
            a.number for a in answers if a.question_id == uuid.UUID(SCALE["id"]) and a.number
        ),
    }


async def _report(gql: GraphQLClient, org: Org, campaign_id: uuid.UUID) -> dict[str, Any]:
    data = await gql.op("CampaignReport", {"id": str(campaign_id)}, token=org.token())
    report: dict[str, Any] = data["campaign"]
    return report


async def test_tallies_kept_by_sync_equal_a_count_from_scratch(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    r1, r2, r3 = (str(uuid.uuid4()) for _ in range(3))
    c1, c2, c3, c4, c7 = (str(uuid.uuid4()) for _ in range(5))

    first = [
        _item(campaign, c1, resident=_resident(r1), themes=("Bins", "Parking")),
        _item(campaign, c2, resident=_resident(r1), scale=5, one="Noise"),  # R1 again
        _item(campaign, c3, resident=_resident(r2), many=("Mon", "Tue"), wantsInvolvement=False),
        _item(campaign, c4, themes=("Damp",)),
        _item(campaign, resident=_resident(str(uuid.uuid4()), store=False)),  # not stored
        _item(campaign, scale=9),  # a wrong answer: REJECTED, counts nothing
        _item(campaign, c7, scale=1, themes=("Lighting",)),
        # The same conversation again in the batch, changed: its final state counts once.
        _item(campaign, c7, scale=2, themes=("Noise",), baseVersion=1),
    ]
    assert await _sync(gql, org, first) == [
        *["CREATED"] * 5,
        "REJECTED",
        "CREATED",
        "UPDATED",
    ]
    kept = await _kept_and_recounted(services, campaign.id)
    assert kept[("REACHED", 0, tallies.NIL, "")] == 2
    assert kept[("CONVERSATIONS", 0, tallies.NIL, "")] == 6

    second = [
        first[0],  # a replay: UNCHANGED
        # c1 changes its answers, themes and resident (R1 is still met through c2).
        _item(
            campaign,
            c1,
            baseVersion=1,
            resident=_resident(r3),
            scale=1,
            yes=0,
            one="Parking",
            many=("Wed",),
            themes=("Parking", "Noise"),
        ),
        _item(campaign, c2, baseVersion=2, notes="stale"),  # CONFLICT: it is at version 1
        # c3 moves from R2 to R1: R2 is no longer reached.
        _item(campaign, c3, baseVersion=1, resident=_resident(r1), wantsInvolvement=True),
        _item(campaign, c4, baseVersion=1, scale=7),  # REJECTED: the old answers stay
    ]
    assert await _sync(gql, org, second) == [
        "UNCHANGED",
        "UPDATED",
        "CONFLICT",
        "UPDATED",
        "REJECTED",
    ]
    kept = await _kept_and_recounted(services, campaign.id)
    assert kept[("REACHED", 0, tallies.NIL, "")] == 2  # R1 and R3

    # A new version once answered; the report shows it, counting only its answers.
    questions = [
        {k: q[k] for k in ("id", "kind", "prompt", "choices", "required")} for q in QUESTIONS
    ]
    questions[3]["choices"] = ["Bins", "Parking", "Noise", "Damp"]
    data = await gql.op(
        "UpdateQuestionSet",
        {"campaignId": str(campaign.id), "questions": questions},
        token=org.token(),
    )
    assert data["updateQuestionSet"]["questionSet"]["version"] == 2
    third = [
        _item(campaign, version=2, one="Damp", resident=_resident(r2)),
        _item(campaign, c4, baseVersion=1, version=2, one="Damp", scale=4),
    ]
    assert await _sync(gql, org, third) == ["CREATED", "UPDATED"]
    kept = await _kept_and_recounted(services, campaign.id)

    python = await _counted_in_python(services, campaign.id)
    assert python["reached"] == kept[("REACHED", 0, tallies.NIL, "")] == 3
    report = await _report(gql, org, campaign.id)
    assert report["stats"]["conversationCount"] == python["conversations"] == 7
    assert report["stats"]["residentsReachedCount"] == python["reached"]
    assert report["stats"]["wantsInvolvementCount"] == python["involved"]
    assert sorted(t["conversationCount"] for t in report["themeCounts"]) == python["themes"]
    scale = {d["value"]: d["count"] for d in report["answerSummary"][1]["distribution"]}
    assert scale == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 0}  # version 2 only
    assert report["answerSummary"][3]["distribution"][-1] == {"value": "Damp", "count": 2}

    # The report from the kept tallies is the report from a recount, figure for figure.
    async with services.db.session() as session:
        await tallies.rebuild(session, campaign.id)
        await session.commit()
    assert await _report(gql, org, campaign.id) == report


async def test_an_item_whose_savepoint_rolls_back_counts_nothing(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    kept, lost = str(uuid.uuid4()), str(uuid.uuid4())
    assert await _sync(gql, org, [_item(campaign, kept), _item(campaign, lost)]) == ["CREATED"] * 2
    before = await _kept_and_recounted(services, campaign.id)

    tally = tallies.Tally()
    async with services.db.session() as session:
        with pytest.raises(RuntimeError):
            async with tally.item(), session.begin_nested():
                await tally.retract(session, [uuid.UUID(lost)])
                await session.execute(
                    sa.delete(Answer).where(col(Answer.conversation_id) == uuid.UUID(lost))
                )
                tally.add([uuid.UUID(lost)])
                raise RuntimeError("the item failed")
        async with tally.item(), session.begin_nested():
            await tally.retract(session, [uuid.UUID(kept)])
            await session.execute(
                sa.delete(ConversationTheme).where(
                    col(ConversationTheme.conversation_id) == uuid.UUID(kept)
                )
            )
            tally.add([uuid.UUID(kept)])
        await tally.flush(session)
        await session.commit()
    after = await _kept_and_recounted(services, campaign.id)
    assert after == {**before, ("THEME", 0, *_theme(before)): 1}


def _theme(snapshot: Snapshot) -> tuple[uuid.UUID, str]:
    [(_, _, ref, value)] = [k for k in snapshot if k[0] == "THEME"]
    return ref, value


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_concurrent_batches_of_one_campaign_keep_exact_tallies(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """Batches sharing residents and themes, at once: no deadlock, no lost count. (The
    themes exist first: sync creating one theme in two batches at once, in different
    orders, can deadlock on the themes table itself, before any tally is written.)"""
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    residents = [str(uuid.uuid4()) for _ in range(6)]
    names = ("Theme 0", "Theme 1", "Theme 2", "Theme 3", "Bins", "Noise")
    seed = [_item(campaign, resident=_resident(r), themes=names) for r in residents]
    assert await _sync(gql, org, seed) == ["CREATED"] * 6

    def batch(b: int) -> list[dict[str, Any]]:
        return [
            _item(
                campaign,
                resident=_resident(residents[(b + i) % 6]),
                themes=(f"Theme {(b * i) % 4}", "Bins"),
                scale=1 + (b + i) % 5,
            )
            for i in range(12)
        ] + [
            # Each batch also updates one seeded conversation, in a different order.
            _item(campaign, seed[(b * 5) % 6]["id"], baseVersion=1, scale=5, themes=("Noise",))
        ]

    results = await asyncio.gather(*(_sync(gql, org, batch(b)) for b in range(4)))
    assert all(r[:12] == ["CREATED"] * 12 for r in results)
    kept = await _kept_and_recounted(services, campaign.id)
    assert kept[("CONVERSATIONS", 0, tallies.NIL, "")] == 6 + 4 * 12
    assert kept[("REACHED", 0, tallies.NIL, "")] == 6


async def test_a_recount_repairs_tallies_that_went_wrong(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await _campaign(services, org)
    assert await _sync(gql, org, [_item(campaign, resident=_resident(str(uuid.uuid4())))]) == [
        "CREATED"
    ]
    right = await _report(gql, org, campaign.id)
    async with services.db.session() as session:
        await session.execute(
            sa.update(CampaignTally)
            .where(col(CampaignTally.campaign_id) == campaign.id)
            .values(n=CampaignTally.n + 7)
        )
        await session.commit()
    assert await _report(gql, org, campaign.id) != right
    async with services.db.session() as session:
        assert await tallies.recount(session, [campaign.id]) == 1
    assert await _report(gql, org, campaign.id) == right
