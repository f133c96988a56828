"""GraphQL types of campaigns, conversations, residents, follow-ups, events and reports.

Each type is built by ``Type.of(row)`` from a plain row of the columns in
``server/campaigns/columns.py``. A relation is a private value when a list resolver has
it at hand (``_themes``, ``_answers``...), and the loader's awaitable otherwise
(docs/decisions/0009). The report fields delegate to ``schema/campaigns/report.py``, the
events to ``schema/campaigns/events.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import strawberry

from schema.accounts.loaders import AccountsLoaders
from schema.accounts.types import AreaType, UserType
from schema.campaigns.enums import (
    CampaignKind,
    CampaignStatus,
    EventKind,
    FollowUpStatus,
    QuestionKind,
    RsvpStatus,
)
from schema.campaigns.loaders import CampaignsLoaders
from schema.context import Info
from schema.loaders import Later
from schema.pagination import Connection, selects
from server.campaigns import report
from server.campaigns.access import sees_all
from server.core.models import utcnow

Row = sa.Row[Any]


@strawberry.type(name="Question")
class QuestionType:
    id: strawberry.ID
    kind: QuestionKind
    prompt: str
    choices: list[str]
    required: bool

    @classmethod
    def of(cls, question: dict[str, Any]) -> QuestionType:
        return cls(
            id=strawberry.ID(str(question["id"])),
            kind=QuestionKind(question["kind"]),
            prompt=question["prompt"],
            choices=list(question.get("choices") or []),
            required=bool(question.get("required")),
        )


@strawberry.type(name="QuestionSet")
class QuestionSetType:
    version: int
    questions: list[QuestionType]

    @classmethod
    def of(cls, row: Any) -> QuestionSetType:
        """From a QuestionSet or a row of QUESTION_SET_COLUMNS."""
        return cls(version=row.version, questions=[QuestionType.of(q) for q in row.questions])


@strawberry.type(name="Theme")
class ThemeType:
    id: strawberry.ID
    name: str = strawberry.field(description="The first spelling the organisation used.")

    @classmethod
    def of(cls, row: Any) -> ThemeType:
        return cls(id=strawberry.ID(str(row.id)), name=row.name)


@strawberry.type(name="CampaignStats")
class CampaignStatsType:
    conversation_count: int
    target_conversations: int | None
    residents_reached_count: int = strawberry.field(
        description="Distinct residents met in a conversation or who responded."
    )
    response_count: int
    rating_average: float | None = strawberry.field(description="Null when nobody rated.")
    net_promoter_score: float | None = strawberry.field(
        description="Promoters (9-10) minus detractors (0-6), as a percentage of ratings; "
        "null when nobody rated."
    )
    wants_involvement_count: int

    @classmethod
    def of(cls, stats: report.CampaignStats) -> CampaignStatsType:
        return cls(
            conversation_count=stats.conversation_count,
            target_conversations=stats.target_conversations,
            residents_reached_count=stats.residents_reached_count,
            response_count=stats.response_count,
            rating_average=stats.rating_average,
            net_promoter_score=stats.net_promoter_score,
            wants_involvement_count=stats.wants_involvement_count,
        )


@strawberry.type(name="ThemeCount")
class ThemeCountType:
    theme: ThemeType
    conversation_count: int
    response_count: int

    @classmethod
    def of(cls, count: report.ThemeCount) -> ThemeCountType:
        return cls(
            theme=ThemeType(id=strawberry.ID(str(count.theme_id)), name=count.theme_name),
            conversation_count=count.conversation_count,
            response_count=count.response_count,
        )


@strawberry.type(name="ValueCount")
class ValueCountType:
    value: str
    count: int


@strawberry.type(name="QuestionSummary")
class QuestionSummaryType:
    question: QuestionType
    answered_count: int
    distribution: list[ValueCountType] = strawberry.field(
        description="SCALE and YES_NO by value, choices by choice; empty for TEXT."
    )

    @classmethod
    def of(cls, summary: report.QuestionSummary) -> QuestionSummaryType:
        return cls(
            question=QuestionType.of(summary.question),
            answered_count=summary.answered_count,
            distribution=[
                ValueCountType(value=v.value, count=v.count) for v in summary.distribution
            ],
        )


@strawberry.type(name="WeekCount")
class WeekCountType:
    week_starting: date = strawberry.field(description="The Monday of the ISO week.")
    count: int


@strawberry.type(name="Event")
class EventType:
    id: strawberry.ID
    kind: EventKind
    title: str
    starts_at: datetime
    ends_at: datetime | None
    location: str | None
    _id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Any) -> EventType:
        """From an Event or a row of EVENT_COLUMNS."""
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=row.kind,
            title=row.title,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            location=row.location,
            _id=row.id,
        )

    @strawberry.field(description="Members who said GOING.")
    async def going_count(self, info: Info) -> int:
        return await info.context.loaders(CampaignsLoaders).going.load(self._id)

    @strawberry.field(description="The caller's answer, null when they gave none.")
    async def my_rsvp(self, info: Info) -> RsvpStatus | None:
        return await info.context.loaders(CampaignsLoaders).my_rsvp.load(self._id)


@strawberry.type(name="Campaign")
class CampaignType:
    id: strawberry.ID
    kind: CampaignKind
    title: str
    description: str | None
    status: CampaignStatus
    starts_on: date | None
    ends_on: date | None
    target_conversations: int | None
    _id: strawberry.Private[uuid.UUID]
    _area_id: strawberry.Private[uuid.UUID | None]
    _question_set_version: strawberry.Private[int]
    # Set by a list resolver that preloaded them for its page (docs/decisions/0009).
    _area: strawberry.Private[AreaType | None] = None
    _organisers: strawberry.Private[list[UserType] | None] = None
    _question_sets: strawberry.Private[list[Row] | None] = None
    _themes: strawberry.Private[list[ThemeType] | None] = None

    @classmethod
    def of(cls, row: Any) -> CampaignType:
        """From a Campaign or a row of CAMPAIGN_COLUMNS."""
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=row.kind,
            title=row.title,
            description=row.description,
            status=row.status,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            target_conversations=row.target_conversations,
            _id=row.id,
            _area_id=row.area_id,
            _question_set_version=row.question_set_version,
        )

    @strawberry.field(graphql_type=AreaType | None)
    def area(self, info: Info) -> AreaType | Awaitable[AreaType | None] | None:
        if self._area_id is None or self._area is not None:
            return self._area
        return self._load_area(info, self._area_id)

    @staticmethod
    async def _load_area(info: Info, area_id: uuid.UUID) -> AreaType | None:
        row = await info.context.loaders(AccountsLoaders).area.load(area_id)
        return AreaType.of(row) if row else None

    @strawberry.field(
        graphql_type=list[UserType], description="The members assigned to the campaign."
    )
    def organisers(self, info: Info) -> list[UserType] | Awaitable[list[UserType]]:
        if self._organisers is not None:
            return self._organisers
        return self._load_organisers(info)

    async def _load_organisers(self, info: Info) -> list[UserType]:
        rows = await info.context.loaders(CampaignsLoaders).organisers.load(self._id)
        return [UserType.of(row) for row in rows]

    def _versions(self, info: Info) -> list[Row] | Awaitable[list[Row]]:
        if self._question_sets is not None:
            return self._question_sets
        return info.context.loaders(CampaignsLoaders).question_sets.load(self._id)

    def _current(self, versions: list[Row]) -> QuestionSetType:
        return QuestionSetType.of(
            next(v for v in versions if v.version == self._question_set_version)
        )

    @strawberry.field(
        graphql_type=QuestionSetType,
        description="The current version, which new conversations answer.",
    )
    def question_set(self, info: Info) -> QuestionSetType | Awaitable[QuestionSetType]:
        versions = self._versions(info)
        if isinstance(versions, list):
            return self._current(versions)
        return self._load_current(versions)

    async def _load_current(self, versions: Awaitable[list[Row]]) -> QuestionSetType:
        return self._current(await versions)

    @strawberry.field(description="An earlier version, still readable; null if none.")
    async def question_set_version(self, info: Info, version: int) -> QuestionSetType | None:
        versions = self._versions(info)
        found = next(
            (
                v
                for v in (versions if isinstance(versions, list) else await versions)
                if v.version == version
            ),
            None,
        )
        return QuestionSetType.of(found) if found else None

    @strawberry.field(
        graphql_type=list[ThemeType], description="Themes raised in the campaign's conversations."
    )
    def themes(self, info: Info) -> list[ThemeType] | Awaitable[list[ThemeType]]:
        if self._themes is not None:
            return self._themes
        return self._load_themes(info)

    async def _load_themes(self, info: Info) -> list[ThemeType]:
        rows = await info.context.loaders(CampaignsLoaders).campaign_themes.load(self._id)
        return [ThemeType.of(row) for row in rows]

    @strawberry.field
    async def stats(self, info: Info) -> CampaignStatsType:
        return CampaignStatsType.of(
            await info.context.loaders(CampaignsLoaders).stats.load(self._id)
        )

    @strawberry.field(description="The campaign's events, soonest first.")
    async def events(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Connection[EventType]:
        from schema.campaigns.events import campaign_events

        return await campaign_events(info, self._id, first, after)

    @strawberry.field(description="Themes by how many conversations raised them.")
    async def theme_counts(self, info: Info, limit: int = 20) -> list[ThemeCountType]:
        from schema.campaigns.report import theme_counts

        return await theme_counts(info, self._id, limit)

    @strawberry.field(description="Answers to the current version's questions.")
    async def answer_summary(self, info: Info) -> list[QuestionSummaryType]:
        from schema.campaigns.report import answer_summary

        return await answer_summary(info, self._id)

    @strawberry.field(description="Conversations per ISO week (weeks with none left out).")
    async def conversations_by_week(self, info: Info) -> list[WeekCountType]:
        from schema.campaigns.report import conversations_by_week

        return await conversations_by_week(info, self._id)


@strawberry.type(name="Consent")
class ConsentType:
    """The resident's current consent: the latest line of each kind in the ledger."""

    store_details: bool
    contact_again: bool
    hear_back: bool
    recorded_at: datetime | None


@strawberry.type(name="Resident")
class ResidentType:
    """A resident met. Name and postcode show to organisers of the campaigns the resident
    was met in; email and phone to admins and senior organisers only."""

    id: strawberry.ID
    name: str | None
    postcode: str | None
    email: str | None
    phone: str | None
    consent: ConsentType

    @classmethod
    def of(cls, row: Any, *, contact: bool) -> ResidentType:
        """From a Resident or a row of RESIDENT_COLUMNS; ``contact``: show email and phone."""
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            postcode=row.postcode,
            email=row.email if contact else None,
            phone=row.phone if contact else None,
            consent=ConsentType(
                store_details=row.store_details,
                contact_again=row.contact_again,
                hear_back=row.hear_back,
                recorded_at=row.consent_recorded_at,
            ),
        )


@strawberry.type(name="Answer")
class AnswerType:
    question_id: strawberry.ID
    text: str | None
    number: int | None
    choices: list[str] | None

    @classmethod
    def of(cls, row: Any) -> AnswerType:
        return cls(
            question_id=strawberry.ID(str(row.question_id)),
            text=row.text,
            number=row.number,
            choices=list(row.choices) if row.choices is not None else None,
        )


def _sees_contact(info: Info) -> bool:
    actor = info.context.actor
    return actor is not None and sees_all(actor)


async def _load_resident(info: Info, resident_id: uuid.UUID) -> ResidentType | None:
    row = await info.context.loaders(CampaignsLoaders).resident.load(resident_id)
    return ResidentType.of(row, contact=_sees_contact(info)) if row else None


@strawberry.type(name="Conversation")
class ConversationType:
    """A listening conversation. Never deleted: an erasure redacts it (``redactedAt`` set,
    identifying fields null) and bumps its version.

    Its relations are plain fields (no resolver, no Info per item): the value when a list
    resolver preloaded it for its page (``preload_conversations``), else a ``Later`` that
    loads it if the field is asked for."""

    id: strawberry.ID
    version: int
    updated_at: datetime
    occurred_at: datetime
    question_set_version: int
    interest_level: int | None
    wants_involvement: bool | None
    notes: str | None
    redacted_at: datetime | None
    organiser: UserType | Awaitable[UserType] = strawberry.field(graphql_type=UserType)
    themes: list[ThemeType] | Awaitable[list[ThemeType]] = strawberry.field(
        graphql_type=list[ThemeType]
    )
    answers: list[AnswerType] | Awaitable[list[AnswerType]] = strawberry.field(
        graphql_type=list[AnswerType]
    )
    resident: ResidentType | Awaitable[ResidentType | None] | None = strawberry.field(
        graphql_type=ResidentType | None
    )
    _id: strawberry.Private[uuid.UUID]
    _organiser_id: strawberry.Private[uuid.UUID]
    _resident_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, row: Any, info: Info) -> ConversationType:
        """From a Conversation or a row of CONVERSATION_COLUMNS."""
        resident_id = row.resident_id
        return cls(
            id=strawberry.ID(str(row.id)),
            version=row.version,
            updated_at=row.updated_at,
            occurred_at=row.occurred_at,
            question_set_version=row.question_set_version,
            interest_level=row.interest_level,
            wants_involvement=row.wants_involvement,
            notes=row.notes,
            redacted_at=row.redacted_at,
            organiser=Later(_load_organiser, info, row.organiser_id),
            themes=Later(_load_themes, info, row.id),
            answers=Later(_load_answers, info, row.id),
            resident=None if resident_id is None else Later(_load_resident, info, resident_id),
            _id=row.id,
            _organiser_id=row.organiser_id,
            _resident_id=resident_id,
        )


async def _load_organiser(info: Info, user_id: uuid.UUID) -> UserType:
    row = await info.context.loaders(AccountsLoaders).user.load(user_id)
    assert row is not None
    return UserType.of(row)


async def _load_themes(info: Info, conversation_id: uuid.UUID) -> list[ThemeType]:
    rows = await info.context.loaders(CampaignsLoaders).conversation_themes.load(conversation_id)
    return [ThemeType.of(row) for row in rows]


async def _load_answers(info: Info, conversation_id: uuid.UUID) -> list[AnswerType]:
    rows = await info.context.loaders(CampaignsLoaders).answers.load(conversation_id)
    return [AnswerType.of(row) for row in rows]


async def preload_conversations(info: Info, nodes: list[ConversationType], *path: str) -> None:
    """What the selection asks of each conversation (``path``: the GraphQL names from the
    field to a conversation, as "edges", "node"), loaded for the whole list in one
    statement each and handed to the nodes, so none of them loads on its own."""
    if not nodes:
        return
    ctx = info.context
    loaders = ctx.loaders(CampaignsLoaders)
    ids = list(dict.fromkeys(n._id for n in nodes))

    def asks(name: str) -> bool:
        return selects(info, *path, name)

    if asks("themes"):
        themes = dict(zip(ids, await loaders.conversation_themes.load_many(ids), strict=True))
        for node in nodes:
            node.themes = [ThemeType.of(row) for row in themes[node._id]]
    if asks("answers"):
        answers = dict(zip(ids, await loaders.answers.load_many(ids), strict=True))
        for node in nodes:
            node.answers = [AnswerType.of(row) for row in answers[node._id]]
    if asks("organiser"):
        organiser_ids = list(dict.fromkeys(n._organiser_id for n in nodes))
        users = await ctx.loaders(AccountsLoaders).user.load_many(organiser_ids)
        by_id = {u.id: UserType.of(u) for u in users if u is not None}
        for node in nodes:
            found = by_id.get(node._organiser_id)
            if found is not None:
                node.organiser = found
    resident_ids = list(dict.fromkeys(n._resident_id for n in nodes if n._resident_id))
    if resident_ids and asks("resident"):
        contact = _sees_contact(info)
        rows = await loaders.resident.load_many(resident_ids)
        people = {r.id: ResidentType.of(r, contact=contact) for r in rows if r is not None}
        for node in nodes:
            if node._resident_id is not None:
                node.resident = people.get(node._resident_id)


@strawberry.type(name="FollowUp")
class FollowUpType:
    id: strawberry.ID
    due_at: datetime
    note: str | None
    status: FollowUpStatus
    completed_at: datetime | None
    outcome: str | None
    _id: strawberry.Private[uuid.UUID]
    _campaign_id: strawberry.Private[uuid.UUID]
    _conversation_id: strawberry.Private[uuid.UUID | None]
    _resident_id: strawberry.Private[uuid.UUID | None]
    _assignee_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Any) -> FollowUpType:
        """From a FollowUp or a row of FOLLOW_UP_COLUMNS."""
        return cls(
            id=strawberry.ID(str(row.id)),
            due_at=row.due_at,
            note=row.note,
            status=row.status,
            completed_at=row.completed_at,
            outcome=row.outcome,
            _id=row.id,
            _campaign_id=row.campaign_id,
            _conversation_id=row.conversation_id,
            _resident_id=row.resident_id,
            _assignee_id=row.assignee_id,
        )

    @strawberry.field(description="Still open after dueAt (computed when read).")
    def overdue(self) -> bool:
        return self.status is FollowUpStatus.OPEN and self.due_at < utcnow()

    @strawberry.field
    async def assignee(self, info: Info) -> UserType:
        row = await info.context.loaders(AccountsLoaders).user.load(self._assignee_id)
        assert row is not None
        return UserType.of(row)

    @strawberry.field
    async def campaign(self, info: Info) -> CampaignType:
        row = await info.context.loaders(CampaignsLoaders).campaign.load(self._campaign_id)
        assert row is not None
        return CampaignType.of(row)

    @strawberry.field
    async def conversation(self, info: Info) -> ConversationType | None:
        if self._conversation_id is None:
            return None
        row = await info.context.loaders(CampaignsLoaders).conversation.load(self._conversation_id)
        return ConversationType.of(row, info) if row else None

    @strawberry.field(graphql_type=ResidentType | None)
    def resident(self, info: Info) -> ResidentType | Awaitable[ResidentType | None] | None:
        if self._resident_id is None:
            return None
        return _load_resident(info, self._resident_id)
