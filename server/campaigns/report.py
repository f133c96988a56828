"""A campaign's report, computed by SQL aggregates (never by loading rows into Python)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession


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


async def campaign_stats(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CampaignStats]:
    """Stats of each campaign (of that organisation), in a fixed number of statements."""
    raise NotImplementedError


async def theme_counts(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID, limit: int
) -> list[ThemeCount]:
    raise NotImplementedError


async def answer_summary(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[QuestionSummary]:
    raise NotImplementedError


async def conversations_by_week(
    session: AsyncSession, organisation_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[WeekCount]:
    raise NotImplementedError
