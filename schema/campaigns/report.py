"""The report fields of Campaign (themeCounts, answerSummary, conversationsByWeek)."""

from __future__ import annotations

import uuid

from schema.campaigns.types import QuestionSummaryType, ThemeCountType, WeekCountType
from schema.context import Info


async def theme_counts(info: Info, campaign_id: uuid.UUID, limit: int) -> list[ThemeCountType]:
    raise NotImplementedError


async def answer_summary(info: Info, campaign_id: uuid.UUID) -> list[QuestionSummaryType]:
    raise NotImplementedError


async def conversations_by_week(info: Info, campaign_id: uuid.UUID) -> list[WeekCountType]:
    raise NotImplementedError
