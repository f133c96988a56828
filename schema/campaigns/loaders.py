"""The campaigns domain's DataLoaders: plain rows by id, from statements built once.

Every statement is scoped to the caller's organisation (``organisation_id``); what a list
resolver already fetched it primes, and a page's relations load in one statement each
(docs/decisions/0009).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col
from strawberry.dataloader import DataLoader

from schema.loaders import by_ids, organisation_of, rows_by_id
from server.accounts.members import USER_COLUMNS
from server.accounts.models import User
from server.campaigns import report
from server.campaigns.columns import (
    ANSWER_COLUMNS,
    CAMPAIGN_COLUMNS,
    CONVERSATION_COLUMNS,
    QUESTION_SET_COLUMNS,
    RESIDENT_COLUMNS,
    THEME_COLUMNS,
)
from server.campaigns.enums import RsvpStatus
from server.campaigns.models import (
    Answer,
    Campaign,
    CampaignOrganiser,
    CampaignTheme,
    Conversation,
    ConversationTheme,
    EventRsvp,
    QuestionSet,
    Resident,
    Theme,
)
from server.core.bulk import read_rows

if TYPE_CHECKING:
    from schema.context import Context

Row = sa.Row[Any]

_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_ORG: sa.BindParameter[Any] = sa.bindparam("organisation_id")

_CAMPAIGNS = by_ids(CAMPAIGN_COLUMNS, scoped=col(Campaign.organisation_id))
_CONVERSATIONS = by_ids(CONVERSATION_COLUMNS, scoped=col(Conversation.organisation_id))
_RESIDENTS = by_ids(RESIDENT_COLUMNS, scoped=col(Resident.organisation_id))
_ORGANISERS = (
    sa.select(col(CampaignOrganiser.campaign_id).label("group_id"), *USER_COLUMNS)
    .join(User, col(User.id) == CampaignOrganiser.user_id)
    .where(col(CampaignOrganiser.campaign_id).in_(_IDS), col(User.organisation_id) == _ORG)
    .order_by(col(User.display_name), col(User.id))
)
_QUESTION_SETS = (
    sa.select(col(QuestionSet.campaign_id).label("group_id"), *QUESTION_SET_COLUMNS)
    .where(col(QuestionSet.campaign_id).in_(_IDS), col(QuestionSet.organisation_id) == _ORG)
    .order_by(col(QuestionSet.version))
)
_CAMPAIGN_THEMES = (
    sa.select(col(CampaignTheme.campaign_id).label("group_id"), *THEME_COLUMNS)
    .join(Theme, col(Theme.id) == CampaignTheme.theme_id)
    .where(col(CampaignTheme.campaign_id).in_(_IDS), col(Theme.organisation_id) == _ORG)
    .order_by(col(Theme.name), col(Theme.id))
)
_CONVERSATION_THEMES = (
    sa.select(col(ConversationTheme.conversation_id).label("group_id"), *THEME_COLUMNS)
    .join(Theme, col(Theme.id) == ConversationTheme.theme_id)
    .where(col(ConversationTheme.conversation_id).in_(_IDS), col(Theme.organisation_id) == _ORG)
    .order_by(col(Theme.name), col(Theme.id))
)
# Answers are reached only through a conversation already checked for this caller.
_ANSWERS = sa.select(col(Answer.conversation_id).label("group_id"), *ANSWER_COLUMNS).where(
    col(Answer.conversation_id).in_(_IDS)
)
_GOING = (
    sa.select(col(EventRsvp.event_id), sa.func.count().label("going"))
    .where(col(EventRsvp.event_id).in_(_IDS), col(EventRsvp.status) == RsvpStatus.GOING)
    .group_by(col(EventRsvp.event_id))
)
_MY_RSVPS = sa.select(col(EventRsvp.event_id), col(EventRsvp.status)).where(
    col(EventRsvp.event_id).in_(_IDS), col(EventRsvp.user_id) == sa.bindparam("user_id")
)


def grouped(ctx: Context, stmt: sa.Select[Any]) -> Callable[[list[uuid.UUID]], Any]:
    """Rows of ``stmt`` grouped by its ``group_id`` column, a list per id asked for."""

    async def load(ids: list[uuid.UUID]) -> list[list[Row]]:
        params = {"ids": ids, "organisation_id": organisation_of(ctx)}
        groups: dict[uuid.UUID, list[Row]] = defaultdict(list)
        async with ctx.db() as session:
            for row in await read_rows(session, stmt, params):
                groups[row.group_id].append(row)
        return [groups[i] for i in ids]

    return load


class CampaignsLoaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.campaign: DataLoader[uuid.UUID, Row | None] = DataLoader(rows_by_id(ctx, _CAMPAIGNS))
        self.conversation: DataLoader[uuid.UUID, Row | None] = DataLoader(
            rows_by_id(ctx, _CONVERSATIONS)
        )
        self.resident: DataLoader[uuid.UUID, Row | None] = DataLoader(rows_by_id(ctx, _RESIDENTS))
        self.organisers: DataLoader[uuid.UUID, list[Row]] = DataLoader(grouped(ctx, _ORGANISERS))
        self.question_sets: DataLoader[uuid.UUID, list[Row]] = DataLoader(
            grouped(ctx, _QUESTION_SETS)
        )
        self.campaign_themes: DataLoader[uuid.UUID, list[Row]] = DataLoader(
            grouped(ctx, _CAMPAIGN_THEMES)
        )
        self.conversation_themes: DataLoader[uuid.UUID, list[Row]] = DataLoader(
            grouped(ctx, _CONVERSATION_THEMES)
        )
        self.answers: DataLoader[uuid.UUID, list[Row]] = DataLoader(grouped(ctx, _ANSWERS))
        self.stats: DataLoader[uuid.UUID, report.CampaignStats] = DataLoader(self._stats)
        self.going: DataLoader[uuid.UUID, int] = DataLoader(self._going)
        self.my_rsvp: DataLoader[uuid.UUID, RsvpStatus | None] = DataLoader(self._my_rsvps)

    async def _stats(self, ids: list[uuid.UUID]) -> Sequence[report.CampaignStats]:
        org = organisation_of(self._ctx)
        assert org is not None
        async with self._ctx.db() as session:
            found = await report.campaign_stats(session, org, ids)
        return [found[i] for i in ids]

    async def _going(self, ids: list[uuid.UUID]) -> list[int]:
        async with self._ctx.db() as session:
            counts = {
                row.event_id: row.going for row in await session.execute(_GOING, {"ids": ids})
            }
        return [counts.get(i, 0) for i in ids]

    async def _my_rsvps(self, ids: list[uuid.UUID]) -> list[RsvpStatus | None]:
        actor = self._ctx.require_actor()
        params = {"ids": ids, "user_id": actor.user_id}
        async with self._ctx.db() as session:
            found = {row.event_id: row.status for row in await session.execute(_MY_RSVPS, params)}
        return [found.get(i) for i in ids]
