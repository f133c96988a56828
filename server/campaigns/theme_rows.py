"""Themes as rows: found or created by key for an organisation, and linked to the
campaigns that raised them; safe when two requests create the same theme at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns.models import CampaignTheme, Theme
from server.core.bulk import insert_or_skip, read_rows
from server.core.models import table_of, utcnow

_THEMES = sa.select(col(Theme.key), col(Theme.id)).where(
    col(Theme.organisation_id) == sa.bindparam("organisation_id"),
    col(Theme.key).in_(sa.bindparam("keys", expanding=True)),
)


async def theme_ids(
    session: AsyncSession, organisation_id: uuid.UUID, names: dict[str, str]
) -> dict[str, uuid.UUID]:
    """The id of each theme (``names``: key -> first spelling, as ``theme_names`` gives),
    new ones created; at most three statements."""
    if not names:
        return {}
    params: dict[str, Any] = {"organisation_id": organisation_id, "keys": list(names)}
    found = {row.key: row.id for row in await read_rows(session, _THEMES, params)}
    now = utcnow()
    new = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "organisation_id": organisation_id,
            "key": key,
            "name": name,
        }
        for key, name in sorted(names.items())
        if key not in found
    ]
    if new:
        table = table_of(Theme)
        stmt = insert_or_skip(session, Theme).returning(table.c.key, table.c.id)
        found |= {row.key: row.id for row in await session.execute(stmt, new)}
        if len(found) < len(names):  # a concurrent request created some: theirs
            missing = {
                "organisation_id": organisation_id,
                "keys": [k for k in names if k not in found],
            }
            found |= {row.key: row.id for row in await read_rows(session, _THEMES, missing)}
    return found


async def link_to_campaigns(
    session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> None:
    """(campaign id, theme id) pairs as campaign themes, those already there kept."""
    now = utcnow()
    rows = [{"campaign_id": c, "theme_id": t, "created_at": now} for c, t in sorted(set(pairs))]
    if rows:
        await session.execute(insert_or_skip(session, CampaignTheme), rows)
