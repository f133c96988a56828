"""A campaign's report, computed by SQL aggregates (never by loading rows into Python).

Every function reads a constant number of grouped statements, scoped to the caller's
organisation through the campaign, whatever the number of conversations. Redacted
conversations still count: their answers and themes stay, anonymous.

Resident responses (the resident-feedback issue) are not stored yet: ``response_count`` is
0 and the rating figures null. When they land, ``_REACHED_SOURCES`` gains their
``(campaign_id, resident_id)`` select, and a grouped statement over them fills the rest.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns.enums import QuestionKind
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Campaign,
    Conversation,
    ConversationTheme,
    QuestionSet,
    Theme,
)


@dataclass(frozen=True)
class CampaignStats:
    conversation_count: int
    target_conversations: int | None
    residents_reached_count: int
    response_count: int
    rating_average: float | None
    net_promoter_score: float | None
    wants_involvement_count: int


@dataclass(frozen=True)
class ThemeCount:
    theme_id: uuid.UUID
    theme_name: str
    conversation_count: int
    response_count: int


@dataclass(frozen=True)
class ValueCount:
    value: str
    count: int


@dataclass(frozen=True)
class QuestionSummary:
    """One question of the current version: how many answered it, and for SCALE, YES_NO
    and the choice kinds how many gave each value (TEXT answers are counted, not listed)."""

    question: dict[str, object]
    answered_count: int
    distribution: list[ValueCount]


@dataclass(frozen=True)
class WeekCount:
    week_starting: date
    count: int


def _columns(*columns: Any) -> tuple[Any, ...]:
    """The columns of a select whose rows are read by label (keeps mypy from Never)."""
    return columns


_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_CAMPAIGN: sa.BindParameter[Any] = sa.bindparam("campaign_id")
_ORG: sa.BindParameter[Any] = sa.bindparam("organisation_id")
_LIMIT: sa.BindParameter[Any] = sa.bindparam("limit", type_=sa.Integer)

# The campaign, if it is the organisation's: every statement below reads through it.
_OWNED = sa.select(col(Campaign.id)).where(
    col(Campaign.id) == _CAMPAIGN, col(Campaign.organisation_id) == _ORG
)
_CURRENT_VERSION = (
    sa.select(col(Campaign.question_set_version))
    .where(col(Campaign.id) == _CAMPAIGN, col(Campaign.organisation_id) == _ORG)
    .scalar_subquery()
)

# --- stats: one statement for a whole page of campaigns --------------------------------
# The organisation is checked on campaigns (the outer select), so that the aggregates over
# conversations read only ix_conversations_campaign_residents.

_CONVERSATION_TOTALS = (
    sa.select(
        col(Conversation.campaign_id).label("campaign_id"),
        sa.func.count().label("conversations"),
        sa.func.count(sa.case((col(Conversation.wants_involvement).is_(True), 1))).label(
            "wants_involvement"
        ),
    )
    .where(col(Conversation.campaign_id).in_(_IDS))
    .group_by(col(Conversation.campaign_id))
    .subquery("conversation_totals")
)

# Who was reached, one (campaign, resident) per contact; resident responses join here.
_REACHED_SOURCES = sa.select(
    *_columns(
        col(Conversation.campaign_id).label("campaign_id"),
        col(Conversation.resident_id).label("resident_id"),
    )
).where(
    col(Conversation.campaign_id).in_(_IDS),
    col(Conversation.resident_id).is_not(None),
)
_CONTACTS = _REACHED_SOURCES.subquery("contacts")
_REACHED = (
    sa.select(
        _CONTACTS.c.campaign_id,
        sa.func.count(sa.distinct(_CONTACTS.c.resident_id)).label("reached"),
    )
    .group_by(_CONTACTS.c.campaign_id)
    .subquery("reached")
)

_STATS = (
    sa.select(
        col(Campaign.id),
        col(Campaign.target_conversations),
        sa.func.coalesce(_CONVERSATION_TOTALS.c.conversations, 0).label("conversations"),
        sa.func.coalesce(_CONVERSATION_TOTALS.c.wants_involvement, 0).label("wants_involvement"),
        sa.func.coalesce(_REACHED.c.reached, 0).label("reached"),
    )
    .outerjoin(_CONVERSATION_TOTALS, _CONVERSATION_TOTALS.c.campaign_id == col(Campaign.id))
    .outerjoin(_REACHED, _REACHED.c.campaign_id == col(Campaign.id))
    .where(col(Campaign.id).in_(_IDS), col(Campaign.organisation_id) == _ORG)
)

_EMPTY = CampaignStats(
    conversation_count=0,
    target_conversations=None,
    residents_reached_count=0,
    response_count=0,
    rating_average=None,
    net_promoter_score=None,
    wants_involvement_count=0,
)


async def campaign_stats(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CampaignStats]:
    """Stats of each campaign (of that organisation), in one statement for all of them.

    A campaign of another organisation (or none) gets empty stats rather than a KeyError:
    callers only ask for campaigns they already showed."""
    ids = list(dict.fromkeys(campaign_ids))
    found: dict[uuid.UUID, CampaignStats] = dict.fromkeys(ids, _EMPTY)
    if not ids:
        return found
    rows = await session.execute(_STATS, {"ids": ids, "organisation_id": organisation_id})
    for row in rows:
        found[row.id] = CampaignStats(
            conversation_count=int(row.conversations),
            target_conversations=row.target_conversations,
            residents_reached_count=int(row.reached),
            response_count=0,
            rating_average=None,
            net_promoter_score=None,
            wants_involvement_count=int(row.wants_involvement),
        )
    return found


# --- themes ----------------------------------------------------------------------------

MAX_THEMES = 100

_THEME_TOTALS = (
    sa.select(
        col(ConversationTheme.theme_id).label("theme_id"),
        sa.func.count().label("conversations"),
    )
    .where(col(ConversationTheme.campaign_id).in_(_OWNED.scalar_subquery()))
    .group_by(col(ConversationTheme.theme_id))
    .subquery("theme_totals")
)
_THEME_COUNTS = (
    sa.select(col(Theme.id), col(Theme.name), _THEME_TOTALS.c.conversations)
    .join(Theme, col(Theme.id) == _THEME_TOTALS.c.theme_id)
    .where(col(Theme.organisation_id) == _ORG)
    .order_by(_THEME_TOTALS.c.conversations.desc(), col(Theme.name), col(Theme.id))
    .limit(_LIMIT)
)


async def theme_counts(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID, limit: int
) -> list[ThemeCount]:
    """Themes by how many of the campaign's conversations raised them, most first, ties
    by name; at most ``limit``, itself at most MAX_THEMES (zero or less gives none)."""
    if limit <= 0:
        return []
    limit = min(limit, MAX_THEMES)
    params = {"campaign_id": campaign_id, "organisation_id": organisation_id, "limit": limit}
    return [
        ThemeCount(
            theme_id=row.id,
            theme_name=row.name,
            conversation_count=int(row.conversations),
            response_count=0,
        )
        for row in await session.execute(_THEME_COUNTS, params)
    ]


# --- answers ---------------------------------------------------------------------------

_QUESTIONS = sa.select(col(QuestionSet.questions)).where(
    col(QuestionSet.campaign_id) == _CAMPAIGN,
    col(QuestionSet.organisation_id) == _ORG,
    col(QuestionSet.version) == _CURRENT_VERSION,
)

# Per question of the current version: answers by number (null for TEXT and the choice
# kinds, whose rows still count as answered), and chosen options by choice; one statement.
_BY_NUMBER = (
    sa.select(
        *_columns(
            col(Answer.question_id).label("question_id"),
            sa.literal_column("'number'").label("source"),
            sa.cast(col(Answer.number), sa.String).label("value"),
            sa.func.count().label("n"),
        )
    )
    .where(
        col(Answer.campaign_id) == _CAMPAIGN,
        col(Answer.question_set_version) == _CURRENT_VERSION,
    )
    .group_by(col(Answer.question_id), col(Answer.number))
)
_BY_CHOICE = (
    sa.select(
        *_columns(
            col(AnswerChoice.question_id).label("question_id"),
            sa.literal_column("'choice'").label("source"),
            col(AnswerChoice.choice).label("value"),
            sa.func.count().label("n"),
        )
    )
    .where(
        col(AnswerChoice.campaign_id) == _CAMPAIGN,
        col(AnswerChoice.question_set_version) == _CURRENT_VERSION,
    )
    .group_by(col(AnswerChoice.question_id), col(AnswerChoice.choice))
)
_ANSWER_COUNTS = sa.union_all(_BY_NUMBER, _BY_CHOICE)

_SCALE_VALUES = ("1", "2", "3", "4", "5")
_YES_NO_VALUES = ("0", "1")


def _possible_values(question: dict[str, Any]) -> tuple[str, ...]:
    kind = QuestionKind(question["kind"])
    if kind is QuestionKind.SCALE:
        return _SCALE_VALUES
    if kind is QuestionKind.YES_NO:
        return _YES_NO_VALUES
    if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE):
        return tuple(str(c) for c in question.get("choices") or ())
    return ()


async def answer_summary(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[QuestionSummary]:
    """Every question of the current version, in order, with how many answered it and
    (except TEXT) a count for each possible value, zeros included; two statements."""
    params = {"campaign_id": campaign_id, "organisation_id": organisation_id}
    questions: list[dict[str, Any]] | None = await session.scalar(_QUESTIONS, params)
    if not questions:
        return []
    answered: dict[str, int] = defaultdict(int)
    numbers: dict[str, dict[str, int]] = defaultdict(dict)
    choices: dict[str, dict[str, int]] = defaultdict(dict)
    for row in await session.execute(_ANSWER_COUNTS, params):
        question_id = str(row.question_id)
        if row.source == "number":
            answered[question_id] += int(row.n)
            if row.value is not None:
                numbers[question_id][row.value] = int(row.n)
        else:
            choices[question_id][row.value] = int(row.n)
    summaries = []
    for question in questions:
        question_id = str(question["id"])
        kind = QuestionKind(question["kind"])
        distribution: list[ValueCount] = []
        if kind is not QuestionKind.TEXT:
            counts = choices[question_id] if kind in _CHOICE_KINDS else numbers[question_id]
            values = _possible_values(question)
            distribution = [ValueCount(v, counts.get(v, 0)) for v in values]
            distribution += [ValueCount(v, n) for v, n in counts.items() if v not in values]
        summaries.append(
            QuestionSummary(
                question=question, answered_count=answered[question_id], distribution=distribution
            )
        )
    return summaries


_CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTI_CHOICE)


# --- weeks -----------------------------------------------------------------------------


def _week_starting(dialect: str) -> sa.ColumnElement[Any]:
    """The Monday (a date) of the ISO week of ``occurred_at``, stored in UTC."""
    occurred = col(Conversation.occurred_at)
    if dialect == "postgresql":
        # Literals, not bound parameters, so GROUP BY sees the same expression as SELECT.
        utc = sa.func.timezone(sa.literal_column("'UTC'"), occurred)
        return sa.cast(sa.func.date_trunc(sa.literal_column("'week'"), utc), sa.Date)
    # SQLite keeps UTC text; %w is 0 for Sunday, so a Monday is (w + 6) % 7 days back.
    weekday = sa.cast(sa.func.strftime(sa.literal_column("'%w'"), occurred), sa.Integer)
    days_back = sa.cast((weekday + 6) % 7, sa.String)
    return sa.func.date(
        occurred, sa.literal_column("'-'") + days_back + sa.literal_column("' days'")
    )


def _weeks_statement(dialect: str) -> sa.Select[Any]:
    week = _week_starting(dialect).label("week")
    return (
        sa.select(week, sa.func.count().label("n"))
        .where(col(Conversation.campaign_id) == _OWNED.scalar_subquery())
        .group_by(week)
        .order_by(week)
    )


_WEEKS = {dialect: _weeks_statement(dialect) for dialect in ("postgresql", "sqlite")}


async def conversations_by_week(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[WeekCount]:
    """Conversations per ISO week (from its Monday, UTC), oldest first; weeks with none
    are left out."""
    stmt = _WEEKS[session.get_bind().dialect.name]
    params = {"campaign_id": campaign_id, "organisation_id": organisation_id}
    return [
        WeekCount(
            week_starting=row.week
            if isinstance(row.week, date)
            else date.fromisoformat(str(row.week)),
            count=int(row.n),
        )
        for row in await session.execute(stmt, params)
    ]
