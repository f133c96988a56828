"""CampaignReport: stats, theme counts, answer distributions and weeks, by SQL aggregates.

Rows are inserted directly with the models (conversation sync is another part), their
tallies counted as sync counts them; every figure is read through the contract's
CampaignReport operation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import User
from server.campaigns import report
from server.campaigns.demo import CONVERSATIONS
from server.campaigns.enums import (
    CampaignKind,
    CampaignStatus,
    ConsentMethod,
    FollowUpStatus,
    QuestionKind,
)
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Campaign,
    Consent,
    Conversation,
    ConversationTheme,
    Event,
    FollowUp,
    QuestionSet,
    Resident,
    Theme,
)
from server.campaigns.tallies import Tally
from server.cli.demo import seed_demo
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.security.tokens import AccessClaims
from tests.conftest import GraphQLClient, Org, QueryCounter

T, S, Y, ONE, MANY = (uuid.uuid4() for _ in range(5))
QUESTIONS: list[dict[str, Any]] = [
    {"id": str(T), "kind": "TEXT", "prompt": "What matters?", "choices": [], "required": False},
    {"id": str(S), "kind": "SCALE", "prompt": "How safe?", "choices": [], "required": True},
    {"id": str(Y), "kind": "YES_NO", "prompt": "Join us?", "choices": [], "required": False},
    {
        "id": str(ONE),
        "kind": "SINGLE_CHOICE",
        "prompt": "Top issue?",
        "choices": ["Bins", "Parking", "Noise"],
        "required": False,
    },
    {
        "id": str(MANY),
        "kind": "MULTI_CHOICE",
        "prompt": "Free when?",
        "choices": ["Mon", "Tue", "Wed"],
        "required": False,
    },
]
KIND = {uuid.UUID(q["id"]): QuestionKind(q["kind"]) for q in QUESTIONS}


@dataclass
class Seeder:
    """Inserts a campaign's rows the way conversation sync stores them."""

    services: Services
    org: Org
    themes: dict[str, Theme] = field(default_factory=dict)

    async def campaign(self, *, version: int = 1, target: int | None = None) -> Campaign:
        async with self.services.db.session() as session:
            campaign = Campaign(
                organisation_id=self.org.organisation.id,
                kind=CampaignKind.LISTENING,
                title="Estate listening",
                status=CampaignStatus.ACTIVE,
                target_conversations=target,
                question_set_version=version,
            )
            session.add(campaign)
            await session.flush()
            for v in range(1, version + 1):
                session.add(
                    QuestionSet(
                        organisation_id=campaign.organisation_id,
                        campaign_id=campaign.id,
                        version=v,
                        questions=QUESTIONS,
                    )
                )
            await session.commit()
        return campaign

    async def conversation(
        self,
        campaign: Campaign,
        occurred_at: datetime,
        answers: dict[uuid.UUID, Any] | None = None,
        themes: tuple[str, ...] = (),
        *,
        version: int | None = None,
        resident: uuid.UUID | None = None,
        wants_involvement: bool | None = None,
        redacted: bool = False,
    ) -> None:
        org_id = self.org.organisation.id
        version = version or campaign.question_set_version
        async with self.services.db.session() as session:
            for name in themes:
                if name not in self.themes:
                    theme = Theme(organisation_id=org_id, key=name.lower(), name=name)
                    session.add(theme)
                    self.themes[name] = theme
            conversation = Conversation(
                organisation_id=org_id,
                campaign_id=campaign.id,
                organiser_id=self.org.members[Role.ORGANISER].id,
                resident_id=resident,
                content_hash="x" * 64,
                occurred_at=occurred_at,
                question_set_version=version,
                wants_involvement=wants_involvement,
                redacted_at=occurred_at if redacted else None,
            )
            session.add(conversation)
            await session.flush()
            where = {"campaign_id": campaign.id, "question_set_version": version}
            for question_id, value in (answers or {}).items():
                kind = KIND[question_id]
                answer = Answer(conversation_id=conversation.id, question_id=question_id, **where)
                if kind is QuestionKind.TEXT:
                    answer.text = value
                elif kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE):
                    answer.choices = [value] if isinstance(value, str) else list(value)
                    session.add_all(
                        AnswerChoice(
                            conversation_id=conversation.id,
                            question_id=question_id,
                            choice=choice,
                            **where,
                        )
                        for choice in answer.choices
                    )
                else:
                    answer.number = value
                session.add(answer)
            session.add_all(
                ConversationTheme(
                    conversation_id=conversation.id,
                    theme_id=self.themes[name].id,
                    campaign_id=campaign.id,
                )
                for name in themes
            )
            tally = Tally()
            tally.add([conversation.id])
            await tally.flush(session)
            await session.commit()

    async def resident(self) -> uuid.UUID:
        async with self.services.db.session() as session:
            resident = Resident(organisation_id=self.org.organisation.id, store_details=True)
            session.add(resident)
            await session.commit()
        return resident.id


def at(day: str, time: str = "12:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{time}:00").replace(tzinfo=UTC)


def distribution(summary: dict[str, Any]) -> dict[str, int]:
    return {d["value"]: d["count"] for d in summary["distribution"]}


async def test_campaign_report_counts_every_figure(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    seed = Seeder(services, org)
    campaign = await seed.campaign(version=2, target=50)
    other = await seed.campaign()
    r1, r2, r3 = [await seed.resident() for _ in range(3)]

    # Monday 30 December 2024 starts ISO week 1 of 2025.
    await seed.conversation(
        campaign,
        at("2024-12-30", "00:00"),
        {T: "More bins", S: 4, Y: 1, ONE: "Bins", MANY: ["Mon", "Tue"]},
        ("Bins", "Parking"),
        resident=r1,
        wants_involvement=True,
    )
    await seed.conversation(
        campaign,
        at("2025-01-05", "23:59"),
        {S: 4, Y: 0, ONE: "Parking", MANY: ["Tue"]},
        ("Bins",),
        resident=r1,
        wants_involvement=False,
    )
    # Redacted: still counted, anonymous.
    await seed.conversation(
        campaign,
        at("2024-12-29", "23:59"),
        {S: 2},
        ("Noise",),
        resident=r2,
        wants_involvement=True,
        redacted=True,
    )
    await seed.conversation(campaign, at("2025-01-06", "00:00"), {T: "Hello"}, ("Parking", "Bins"))
    # Version 1: counts as a conversation and for its themes, not in the answer summary.
    await seed.conversation(
        campaign,
        at("2025-01-01"),
        {S: 1, Y: 1, ONE: "Noise", MANY: ["Wed"], T: "old"},
        ("Noise",),
        version=1,
        resident=r3,
        wants_involvement=False,
    )
    # Another campaign of the same organisation: counts nowhere here.
    await seed.conversation(
        other,
        at("2025-01-01"),
        {S: 5, ONE: "Bins"},
        ("Bins", "Noise"),
        resident=r1,
        wants_involvement=True,
    )

    data = await gql.op("CampaignReport", {"id": str(campaign.id)}, token=org.token())
    found = data["campaign"]
    assert found["stats"] == {
        "conversationCount": 5,
        "targetConversations": 50,
        "residentsReachedCount": 3,
        "responseCount": 0,
        "ratingAverage": None,
        "netPromoterScore": None,
        "wantsInvolvementCount": 2,
    }
    assert [
        (t["theme"]["name"], t["conversationCount"], t["responseCount"])
        for t in found["themeCounts"]
    ] == [
        ("Bins", 3, 0),
        ("Noise", 2, 0),
        ("Parking", 2, 0),
    ]
    assert found["themeCounts"][0]["theme"]["id"] == str(seed.themes["Bins"].id)

    summaries = found["answerSummary"]
    assert [(s["question"]["id"], s["question"]["kind"]) for s in summaries] == [
        (q["id"], q["kind"]) for q in QUESTIONS
    ]
    assert [s["answeredCount"] for s in summaries] == [2, 3, 2, 2, 2]
    text, scale, yes_no, one, many = summaries
    assert text["distribution"] == []
    assert distribution(scale) == {"1": 0, "2": 1, "3": 0, "4": 2, "5": 0}
    assert [d["value"] for d in scale["distribution"]] == ["1", "2", "3", "4", "5"]
    assert distribution(yes_no) == {"0": 1, "1": 1}
    assert distribution(one) == {"Bins": 1, "Parking": 1, "Noise": 0}
    assert distribution(many) == {"Mon": 1, "Tue": 2, "Wed": 0}

    # ISO weeks from Monday, across the year boundary; the version 1 conversation too.
    assert found["conversationsByWeek"] == [
        {"weekStarting": "2024-12-23", "count": 1},
        {"weekStarting": "2024-12-30", "count": 3},
        {"weekStarting": "2025-01-06", "count": 1},
    ]

    # Another organisation's admin does not see the campaign at all.
    stranger: Org = await make_org()
    data = await gql.op("CampaignReport", {"id": str(campaign.id)}, token=stranger.token())
    assert data["campaign"] is None


async def test_an_empty_campaign_reports_zeros_and_nulls(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    campaign = await Seeder(services, org).campaign()

    data = await gql.op("CampaignReport", {"id": str(campaign.id)}, token=org.token())
    found = data["campaign"]
    assert found["stats"] == {
        "conversationCount": 0,
        "targetConversations": None,
        "residentsReachedCount": 0,
        "responseCount": 0,
        "ratingAverage": None,
        "netPromoterScore": None,
        "wantsInvolvementCount": 0,
    }
    assert found["themeCounts"] == []
    assert found["conversationsByWeek"] == []
    # Every question is listed, with nobody answering.
    assert [s["answeredCount"] for s in found["answerSummary"]] == [0] * len(QUESTIONS)
    text, scale, yes_no, one, many = found["answerSummary"]
    assert text["distribution"] == []
    assert distribution(scale) == dict.fromkeys("12345", 0)
    assert distribution(yes_no) == {"0": 0, "1": 0}
    assert distribution(one) == {"Bins": 0, "Parking": 0, "Noise": 0}
    assert distribution(many) == {"Mon": 0, "Tue": 0, "Wed": 0}


async def test_report_statements_do_not_grow_with_conversations(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    org: Org = await make_org()
    seed = Seeder(services, org)
    small = await seed.campaign()
    big = await seed.campaign()
    start = at("2025-03-03")
    for campaign, n in ((small, 10), (big, 100)):
        for i in range(n):
            await seed.conversation(
                campaign,
                start + timedelta(days=i % 30),
                {S: 1 + i % 5, ONE: "Bins", MANY: ["Mon", "Wed"], T: "t"},
                (f"Theme {i % 25}",),
                wants_involvement=i % 2 == 0,
            )

    counts = []
    for campaign, n in ((small, 10), (big, 100)):
        await gql.op("CampaignReport", {"id": str(campaign.id)}, token=org.token())
        count_queries.statements.clear()
        data = await gql.op("CampaignReport", {"id": str(campaign.id)}, token=org.token())
        counts.append(count_queries.count)
        assert data["campaign"]["stats"]["conversationCount"] == n
        assert data["campaign"]["stats"]["wantsInvolvementCount"] == n // 2
        assert sum(w["count"] for w in data["campaign"]["conversationsByWeek"]) == n
        assert data["campaign"]["answerSummary"][1]["answeredCount"] == n
        assert len(data["campaign"]["themeCounts"]) == min(n, 20)
    # The campaign, its stats, themes, questions, answer counts and weeks.
    assert counts == [6, 6], "\n".join(count_queries.statements)

    # A page of campaigns' stats is one statement, whatever the number of campaigns.
    stranger: Org = await make_org()
    foreign = await Seeder(services, stranger).campaign()
    count_queries.statements.clear()
    async with services.db.session() as session:
        stats = await report.campaign_stats(
            session, org.organisation.id, [small.id, big.id, foreign.id]
        )
    assert count_queries.count == 1
    assert stats[small.id].conversation_count == 10
    assert stats[big.id].conversation_count == 100
    assert stats[foreign.id].conversation_count == 0


async def test_the_demo_seeds_its_campaign_once(
    gql: GraphQLClient, services: Services, settings: Settings
) -> None:
    assert await seed_demo(settings) is True
    assert await seed_demo(settings) is False  # idempotent: nothing twice
    async with services.db.session() as session:
        [campaign_id] = (await session.scalars(sa.select(col(Campaign.id)))).all()
        admin = await session.scalar(
            sa.select(User).where(col(User.email) == "admin@demo.doorstep.local")
        )
        assert admin is not None
        open_follow_ups = await session.scalar(
            sa.select(sa.func.count())
            .select_from(FollowUp)
            .where(col(FollowUp.status) == FollowUpStatus.OPEN)
        )
        doorstep_consents = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Consent)
            .where(col(Consent.method) == ConsentMethod.DOORSTEP)
        )
        events = await session.scalar(sa.select(sa.func.count()).select_from(Event))
    assert open_follow_ups and doorstep_consents and events == 1
    token = services.access_tokens.issue(
        AccessClaims(admin.id, admin.organisation_id, admin.role, uuid.uuid4())
    )[0]
    found = (await gql.op("CampaignReport", {"id": str(campaign_id)}, token=token))["campaign"]
    assert found["stats"]["conversationCount"] == CONVERSATIONS
    assert 0 < found["stats"]["residentsReachedCount"] < CONVERSATIONS
    assert sum(w["count"] for w in found["conversationsByWeek"]) == CONVERSATIONS
    assert found["themeCounts"][0]["conversationCount"] > 0
    assert [s["answeredCount"] for s in found["answerSummary"]][1:] == [CONVERSATIONS] * 4
