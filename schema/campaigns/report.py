"""The report fields of Campaign (themeCounts, answerSummary, conversationsByWeek).

Reached only through a CampaignType, which the caller could already see; the statements
are still scoped to the caller's organisation."""

from __future__ import annotations

import uuid

from schema.campaigns.types import QuestionSummaryType, ThemeCountType, WeekCountType
from schema.context import Info
from server.campaigns import report


def _organisation(info: Info) -> uuid.UUID:
    return info.context.require_actor().organisation_id


async def theme_counts(info: Info, campaign_id: uuid.UUID, limit: int) -> list[ThemeCountType]:
    async with info.context.db() as session:
        counts = await report.theme_counts(session, _organisation(info), campaign_id, limit)
    return [ThemeCountType.of(c) for c in counts]


async def answer_summary(info: Info, campaign_id: uuid.UUID) -> list[QuestionSummaryType]:
    async with info.context.db() as session:
        summaries = await report.answer_summary(session, _organisation(info), campaign_id)
    return [QuestionSummaryType.of(s) for s in summaries]


async def conversations_by_week(info: Info, campaign_id: uuid.UUID) -> list[WeekCountType]:
    async with info.context.db() as session:
        weeks = await report.conversations_by_week(session, _organisation(info), campaign_id)
    return [WeekCountType(week_starting=w.week_starting, count=w.count) for w in weeks]
