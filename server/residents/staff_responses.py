"""Staff reading residents' responses to a campaign, and tagging them with themes.

Whoever sees the campaign reads its responses (server/campaigns/access.py), newest first;
tagging is for staff. A response's themes are its ResponseTheme rows; setting them moves
the campaign's RESPONSE_THEME tallies by the themes removed (-1) and added (+1) in the same
transaction, so the report's themes count them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.campaigns import access, tallies, theme_rows
from server.campaigns.models import Campaign
from server.campaigns.sync_rules import theme_names
from server.campaigns.tallies import TallyKind
from server.core.bulk import insert_or_skip
from server.core.errors import not_found
from server.core.models import table_of
from server.core.pagination import Page, PageRequest, paginate
from server.residents.models import Response, ResponseTheme
from server.security.access import Actor

MAX_THEMES = 20

RESPONSE_COLUMNS: tuple[Any, ...] = (
    col(Response.id),
    col(Response.campaign_id),
    col(Response.submitted_at),
    col(Response.question_set_version),
    col(Response.rating),
    col(Response.comment),
    col(Response.redacted_at),
)
_VISIBLE = sa.select(*RESPONSE_COLUMNS).join(Campaign, col(Campaign.id) == Response.campaign_id)
_TAGGED = sa.select(col(ResponseTheme.theme_id)).where(
    col(ResponseTheme.response_id) == sa.bindparam("response_id")
)


async def list_responses(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, page: PageRequest
) -> Page[sa.Row[Any]]:
    """The campaign's responses, newest first; empty for a campaign the actor cannot see."""
    stmt = access.scope(
        _VISIBLE.where(
            col(Response.campaign_id) == campaign_id,
            col(Response.organisation_id) == actor.organisation_id,
        ),
        actor,
    )
    order = [col(Response.submitted_at), col(Response.id)]
    return await paginate(session, stmt, order, page, descending=True)


async def _locked_response(session: AsyncSession, actor: Actor, response_id: uuid.UUID) -> Any:
    """The response (a row), locked against a concurrent tagging; NOT_FOUND unless the
    actor sees its campaign."""
    stmt = access.scope(
        _VISIBLE.where(
            col(Response.id) == response_id,
            col(Response.organisation_id) == actor.organisation_id,
        ),
        actor,
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Response)
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        raise not_found("response", "responseId")
    return row


async def set_response_themes(
    session: AsyncSession, actor: Actor, response_id: uuid.UUID, themes: Sequence[str]
) -> sa.Row[Any]:
    """The response tagged with exactly these themes (by key: "Bins" and "bins!" are one;
    the caller caps them at MAX_THEMES), new themes created, the tallies moved by what
    changed. Returns the response's row."""
    access.require_staff(actor)
    response = await _locked_response(session, actor, response_id)
    found = await theme_rows.theme_ids(session, actor.organisation_id, theme_names(themes))
    wanted = set(found.values())
    before = set((await session.scalars(_TAGGED, {"response_id": response.id})).all())
    # What the statements did, not what was planned: a concurrent tagging changes nothing twice.
    removed: list[uuid.UUID] = []
    added: list[uuid.UUID] = []
    if before - wanted:
        removed = list(
            (
                await session.scalars(
                    sa.delete(ResponseTheme)
                    .where(
                        col(ResponseTheme.response_id) == response.id,
                        col(ResponseTheme.theme_id).in_(sorted(before - wanted)),
                    )
                    .returning(col(ResponseTheme.theme_id))
                )
            ).all()
        )
    if wanted - before:
        rows = [
            {"response_id": response.id, "theme_id": t, "campaign_id": response.campaign_id}
            for t in sorted(wanted - before)
        ]
        stmt = insert_or_skip(session, ResponseTheme).returning(table_of(ResponseTheme).c.theme_id)
        added = list((await session.execute(stmt, rows)).scalars().all())
        await theme_rows.link_to_campaigns(session, [(response.campaign_id, t) for t in added])
    net: Counter[tallies.Key] = Counter()
    for theme_id, step in [*((t, 1) for t in added), *((t, -1) for t in removed)]:
        net[tallies.key(response.campaign_id, TallyKind.RESPONSE_THEME, ref=theme_id)] += step
    await tallies.add_counts(session, net)
    if added or removed:
        audit(
            session,
            actor,
            "response.themes_set",
            (Response, response.id),
            {"added": len(added), "removed": len(removed)},
        )
    return response
