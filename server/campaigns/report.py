"""A campaign's report, read from its tallies (server/campaigns/tallies.py): running
counts kept by SQL aggregates in the same transaction as the conversation writes, so a
report reads a few small rows whatever the number of conversations (never rows loaded
into Python). Every statement is scoped to the caller's organisation through the
campaign. Redacted conversations still count: their answers and themes stay, anonymous.

Residents' responses (server/residents) keep kinds of their own: a count, the ratings'
count and sum (for the average) and the promoters and detractors (for the net promoter
score); a response from a known resident adds to the MET tallies, so a resident met at the
door who also answered a link is reached once.
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
from server.campaigns.models import Campaign, CampaignTally, QuestionSet, Theme
from server.campaigns.tallies import TallyKind


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
_T = CampaignTally

# --- stats: one statement for a whole page of campaigns --------------------------------

_STAT_KINDS = (
    TallyKind.CONVERSATIONS,
    TallyKind.INVOLVED,
    TallyKind.REACHED,
    TallyKind.RESPONSES,
    TallyKind.RATED,
    TallyKind.RATING_SUM,
    TallyKind.PROMOTERS,
    TallyKind.DETRACTORS,
)
_STATS = (
    sa.select(
        *_columns(
            col(Campaign.id),
            col(Campaign.target_conversations),
            col(_T.kind),
            col(_T.n),
        )
    )
    .outerjoin(
        _T,
        sa.and_(
            col(_T.campaign_id) == col(Campaign.id),
            col(_T.kind).in_([k.value for k in _STAT_KINDS]),
        ),
    )
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
    figures: dict[uuid.UUID, dict[str, int]] = {}
    targets: dict[uuid.UUID, int | None] = {}
    for row in await session.execute(_STATS, {"ids": ids, "organisation_id": organisation_id}):
        targets[row.id] = row.target_conversations
        kinds = figures.setdefault(row.id, {})
        if row.kind is not None:
            kinds[row.kind] = int(row.n)
    for campaign_id, kinds in figures.items():
        rated = kinds.get(TallyKind.RATED, 0)
        net = kinds.get(TallyKind.PROMOTERS, 0) - kinds.get(TallyKind.DETRACTORS, 0)
        found[campaign_id] = CampaignStats(
            conversation_count=kinds.get(TallyKind.CONVERSATIONS, 0),
            target_conversations=targets[campaign_id],
            residents_reached_count=kinds.get(TallyKind.REACHED, 0),
            response_count=kinds.get(TallyKind.RESPONSES, 0),
            rating_average=kinds.get(TallyKind.RATING_SUM, 0) / rated if rated else None,
            net_promoter_score=100 * net / rated if rated else None,
            wants_involvement_count=kinds.get(TallyKind.INVOLVED, 0),
        )
    return found


# --- themes ----------------------------------------------------------------------------

MAX_THEMES = 100


def _sum_of(kind: TallyKind) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((col(_T.kind) == kind.value, col(_T.n)))), 0)


_CONVERSATIONS = _sum_of(TallyKind.THEME).label("conversations")
_RESPONSES = _sum_of(TallyKind.RESPONSE_THEME).label("responses")
# A theme raised in conversations, in residents' responses, or both: one row each.
_THEME_COUNTS = (
    sa.select(*_columns(col(Theme.id), col(Theme.name), _CONVERSATIONS, _RESPONSES))
    .join(Theme, col(Theme.id) == col(_T.ref))
    .where(
        col(_T.campaign_id) == _OWNED.scalar_subquery(),
        col(_T.kind).in_([TallyKind.THEME.value, TallyKind.RESPONSE_THEME.value]),
        col(_T.n) > 0,
        col(Theme.organisation_id) == _ORG,
    )
    .group_by(col(Theme.id), col(Theme.name))
    .order_by(
        (_CONVERSATIONS + _RESPONSES).desc(), _CONVERSATIONS.desc(), col(Theme.name), col(Theme.id)
    )
    .limit(_LIMIT)
)


async def theme_counts(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID, limit: int
) -> list[ThemeCount]:
    """Themes by how many of the campaign's conversations and responses raised them,
    most first, then by conversations, ties by name; at most ``limit``, itself at most
    MAX_THEMES (zero or less gives none)."""
    if limit <= 0:
        return []
    limit = min(limit, MAX_THEMES)
    params = {"campaign_id": campaign_id, "organisation_id": organisation_id, "limit": limit}
    return [
        ThemeCount(
            theme_id=row.id,
            theme_name=row.name,
            conversation_count=int(row.conversations),
            response_count=int(row.responses),
        )
        for row in await session.execute(_THEME_COUNTS, params)
    ]


# --- answers ---------------------------------------------------------------------------

_QUESTIONS = sa.select(col(QuestionSet.questions)).where(
    col(QuestionSet.campaign_id) == _CAMPAIGN,
    col(QuestionSet.organisation_id) == _ORG,
    col(QuestionSet.version) == _CURRENT_VERSION,
)

# Per question of the current version: how many answered, and answers by number or choice.
_ANSWER_KINDS = (TallyKind.ANSWERED, TallyKind.NUMBER, TallyKind.CHOICE)
_ANSWER_COUNTS = sa.select(*_columns(col(_T.kind), col(_T.ref), col(_T.value), col(_T.n))).where(
    col(_T.campaign_id) == _CAMPAIGN,
    col(_T.version) == _CURRENT_VERSION,
    col(_T.kind).in_([k.value for k in _ANSWER_KINDS]),
    col(_T.n) > 0,
)

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
        question_id, n = str(row.ref), int(row.n)
        if row.kind == TallyKind.ANSWERED:
            answered[question_id] = n
        elif row.kind == TallyKind.NUMBER:
            numbers[question_id][row.value] = n
        else:
            choices[question_id][row.value] = n
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


_WEEKS = (
    sa.select(col(_T.value), col(_T.n))
    .where(
        col(_T.campaign_id) == _OWNED.scalar_subquery(),
        col(_T.kind) == TallyKind.WEEK.value,
        col(_T.n) > 0,
    )
    .order_by(col(_T.value))
)


async def conversations_by_week(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[WeekCount]:
    """Conversations per ISO week (from its Monday, UTC), oldest first; weeks with none
    are left out."""
    params = {"campaign_id": campaign_id, "organisation_id": organisation_id}
    return [
        WeekCount(week_starting=date.fromisoformat(row.value), count=int(row.n))
        for row in await session.execute(_WEEKS, params)
    ]
