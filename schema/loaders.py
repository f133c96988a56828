"""DataLoader plumbing that every domain's loaders share.

Each domain keeps its loaders beside its types (``schema/<domain>/loaders.py``) as one
class taking the request's Context. ``Context.loaders(ThatClass)`` builds the set on first
use and keeps it for the request, so a request pays only for the loaders it touches and a
new domain adds its loaders without editing a shared file.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa

from server.core.bulk import read_rows

if TYPE_CHECKING:
    from schema.context import Context

T = TypeVar("T")

LoadFn = Callable[[list[uuid.UUID]], Coroutine[Any, Any, Sequence[Any]]]


def rows_by_id(ctx: Context, stmt: sa.Select[*tuple[Any, ...]]) -> LoadFn:
    """Plain rows by id (the first column), from ``stmt``: a statement built once, taking
    ``ids`` (an expanding parameter) and ``organisation_id`` (the caller's), which a
    scoped statement compares with the table's own (see ``by_ids``). Read without the
    ORM's result machinery (``read_rows``): a page's relations are hundreds of rows."""

    async def load(ids: list[uuid.UUID]) -> list[Any]:
        params = {"ids": ids, "organisation_id": organisation_of(ctx)}
        async with ctx.db() as session:
            rows = {row[0]: row for row in await read_rows(session, stmt, params)}
        return [rows.get(i) for i in ids]

    return load


def by_ids(columns: Sequence[Any], scoped: Any = None) -> sa.Select[*tuple[Any, ...]]:
    """The statement for ``rows_by_id``: ``columns`` (the id first) of the rows whose id is
    in ``ids``, and with ``scoped`` (the table's organisation column) of the caller's
    organisation only. Build it once, at import: SQLAlchemy then coerces it and computes
    its cache key once, and each request only binds (docs/decisions/0009)."""
    stmt = sa.select(*columns).where(columns[0].in_(sa.bindparam("ids", expanding=True)))
    if scoped is not None:
        stmt = stmt.where(scoped == sa.bindparam("organisation_id"))
    return stmt


def organisation_of(ctx: Context) -> uuid.UUID | None:
    return ctx.actor.organisation_id if ctx.actor else None


class Later(Generic[T]):
    """An awaitable that starts ``load(*args)`` only when awaited: the value of a plain
    field whose value a list resolver may instead have preloaded (docs/decisions/0009).
    Unlike a coroutine, one that is never awaited (the field was not asked for) is no
    warning and costs nothing but itself."""

    __slots__ = ("_args", "_load")

    def __init__(self, load: Callable[..., Awaitable[T]], *args: Any) -> None:
        self._load, self._args = load, args

    def __await__(self) -> Generator[Any, None, T]:
        return self._load(*self._args).__await__()
