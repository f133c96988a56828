"""DataLoader plumbing that every domain's loaders share.

Each domain keeps its loaders beside its types (``schema/<domain>/loaders.py``) as one
class taking the request's Context. ``Context.loaders(ThatClass)`` builds the set on first
use and keeps it for the request, so a request pays only for the loaders it touches and a
new domain adds its loaders without editing a shared file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from schema.context import Context

LoadFn = Callable[[list[uuid.UUID]], Coroutine[Any, Any, Sequence[Any]]]


def by_id(ctx: Context, model: Any, *, scoped: bool = True) -> LoadFn:
    """Rows by id; scoped loaders only ever return rows of the caller's organisation."""

    async def load(ids: list[uuid.UUID]) -> list[Any]:
        stmt = sa.select(model).where(model.id.in_(ids))
        if scoped:
            stmt = stmt.where(model.organisation_id == organisation_of(ctx))
        async with ctx.db() as session:
            rows = {row.id: row for row in (await session.scalars(stmt)).all()}
        return [rows.get(i) for i in ids]

    return load


def rows_by_id(ctx: Context, columns: Sequence[Any], *, scoped: Any = None) -> LoadFn:
    """Plain rows of ``columns`` (the first is the id) by id; with ``scoped`` (the table's
    organisation column), only rows of the caller's organisation."""
    key = columns[0]

    async def load(ids: list[uuid.UUID]) -> list[Any]:
        stmt = sa.select(*columns).where(key.in_(ids))
        if scoped is not None:
            stmt = stmt.where(scoped == organisation_of(ctx))
        async with ctx.db() as session:
            rows = {row[0]: row for row in await session.execute(stmt)}
        return [rows.get(i) for i in ids]

    return load


def organisation_of(ctx: Context) -> uuid.UUID | None:
    return ctx.actor.organisation_id if ctx.actor else None
