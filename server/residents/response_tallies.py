"""Residents' responses in the campaign tallies (server/campaigns/tallies.py): a response
adds RESPONSES; a rating RATED, RATING_SUM and PROMOTERS (9-10) or DETRACTORS (0-6); a
resident MET (so one met at the door who also answered is reached once); each theme
RESPONSE_THEME. Kept in the response's transaction, and added again after a rebuild."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns.tallies import Key, TallyKind, add_counts, key
from server.residents.models import Response, ResponseTheme

PROMOTER = 9
DETRACTOR = 6


def response_deltas(
    campaign_id: uuid.UUID, rating: int | None, resident_id: uuid.UUID | None
) -> Counter[Key]:
    """What one response (without themes) adds."""
    net: Counter[Key] = Counter({key(campaign_id, TallyKind.RESPONSES): 1})
    if rating is not None:
        net[key(campaign_id, TallyKind.RATED)] += 1
        net[key(campaign_id, TallyKind.RATING_SUM)] += rating
        net[key(campaign_id, TallyKind.PROMOTERS)] += int(rating >= PROMOTER)
        net[key(campaign_id, TallyKind.DETRACTORS)] += int(rating <= DETRACTOR)
    if resident_id is not None:
        net[key(campaign_id, TallyKind.MET, ref=resident_id)] += 1
    return net


async def count_response(session: AsyncSession, response: Response) -> None:
    """Add a new response to its campaign's tallies (a new response has no themes yet)."""
    deltas = response_deltas(response.campaign_id, response.rating, response.resident_id)
    await add_counts(session, deltas)


def _of_campaign(table: Any) -> sa.ColumnElement[bool]:
    return col(table.campaign_id) == sa.bindparam("campaign_id")


_RATING = col(Response.rating)
_FIGURES = sa.select(
    sa.func.count().label("responses"),
    sa.func.count(_RATING).label("rated"),
    sa.func.coalesce(sa.func.sum(_RATING), 0).label("rating_sum"),
    sa.func.count(sa.case((_RATING >= PROMOTER, 1))).label("promoters"),
    sa.func.count(sa.case((_RATING <= DETRACTOR, 1))).label("detractors"),
).where(_of_campaign(Response))
_MET = (
    sa.select(col(Response.resident_id), sa.func.count().label("n"))
    .where(_of_campaign(Response), col(Response.resident_id).is_not(None))
    .group_by(col(Response.resident_id))
)
_THEMES = (
    sa.select(col(ResponseTheme.theme_id), sa.func.count().label("n"))
    .where(_of_campaign(ResponseTheme))
    .group_by(col(ResponseTheme.theme_id))
)


async def recount_responses(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    """Listener of TALLIES_REBUILT: the campaign's response tallies, counted afresh from
    its responses and their themes, added to the conversations' just rebuilt (three
    reads, at most two writes)."""
    params = {"campaign_id": campaign_id}
    figures = (await session.execute(_FIGURES, params)).one()
    net: Counter[Key] = Counter(
        {
            key(campaign_id, TallyKind.RESPONSES): figures.responses,
            key(campaign_id, TallyKind.RATED): figures.rated,
            key(campaign_id, TallyKind.RATING_SUM): figures.rating_sum,
            key(campaign_id, TallyKind.PROMOTERS): figures.promoters,
            key(campaign_id, TallyKind.DETRACTORS): figures.detractors,
        }
    )
    for row in await session.execute(_MET, params):
        net[key(campaign_id, TallyKind.MET, ref=row.resident_id)] += row.n
    for row in await session.execute(_THEMES, params):
        net[key(campaign_id, TallyKind.RESPONSE_THEME, ref=row.theme_id)] += row.n
    await add_counts(session, net)
