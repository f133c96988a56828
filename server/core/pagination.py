"""Keyset pagination over any SELECT, with opaque cursors.

A cursor encodes the sort key of the last row seen, so pages stay stable while rows are
added (unlike offsets) and every page costs one indexed query.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.errors import UserError, UserErrorCode

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    first: int
    after: str | None = None


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    count: Callable[[], Awaitable[int]]

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def _encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, columns: Sequence[Any]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError("cursor shape")
        values: list[Any] = []
        for text, column in zip(raw, columns, strict=True):
            if not isinstance(text, str):  # _encode writes strings only
                raise ValueError("cursor value")
            column_type = column.type
            # A TypeDecorator (SQLModel's UTCDateTime) reports the type of its impl.
            python_type = getattr(column_type, "impl", column_type).python_type
            if python_type is datetime:
                moment = datetime.fromisoformat(text)
                if moment.utcoffset() is None:  # would fail in the query, not here
                    raise ValueError("naive time in cursor")
                values.append(moment)
            elif python_type is uuid.UUID:
                values.append(uuid.UUID(text))
            else:
                values.append(python_type(text))
        return values
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, NotImplementedError) as exc:
        raise UserError.of(UserErrorCode.INVALID, "This cursor is not valid.", "after") from exc


async def paginate(
    session: AsyncSession,
    stmt: sa.Select[*tuple[Any, ...]],
    order_by: Sequence[Any],
    page: PageRequest,
    *,
    descending: bool = False,
) -> Page[Any]:
    """Run ``stmt`` a page at a time, ordered by ``order_by``: its objects when it selects
    one entity, otherwise its rows (plain, untracked: the cheap way to read a list).

    The last column of ``order_by`` must be unique (the primary key), and each of them
    must be selected under its own name (rows) or be an attribute of the entity.
    """
    base = stmt
    if page.after:
        values = _decode(page.after, order_by)
        key = sa.tuple_(*order_by)
        bound = sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(values, order_by, strict=True)))
        stmt = stmt.where(key < bound if descending else key > bound)
    ordering = [c.desc() if descending else c.asc() for c in order_by]
    result = await session.execute(stmt.order_by(*ordering).limit(page.first + 1))
    selected = stmt.column_descriptions
    entity = len(selected) == 1 and selected[0]["expr"] is selected[0]["entity"]
    rows: list[Any] = list(result.scalars().all() if entity else result.all())
    has_next = len(rows) > page.first
    rows = rows[: page.first]
    cursors = [_encode([getattr(row, c.key) for c in order_by]) for row in rows]

    async def count() -> int:
        counted = sa.select(sa.func.count()).select_from(base.order_by(None).subquery())
        return int((await session.execute(counted)).scalar_one())

    return Page(items=rows, cursors=cursors, has_next_page=has_next, count=count)
