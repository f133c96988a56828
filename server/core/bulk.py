"""Bulk INSERTs that skip the ORM's unit of work, fast on every driver."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from server.core.models import table_of


async def insert_rows(
    session: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows`` (column values, the same columns in each) as multi-row INSERTs.

    The RETURNING makes SQLAlchemy batch them ("insertmanyvalues": up to 1,000 rows a
    statement); without one, asyncpg's executemany sends one statement per row, which
    took 5-10x as long for a synced batch's answers and consent lines.
    """
    if rows:
        table = table_of(model)
        first = next(iter(table.primary_key.columns))
        await session.execute(sa.insert(table).returning(first), rows)


async def read_rows(session: AsyncSession, stmt: Any, params: Any = None) -> Any:
    """Plain rows of ``stmt``, on the session's connection: without the ORM's result
    machinery, which a read of hundreds of rows by id paid for every row."""
    return await (await session.connection()).execute(stmt, params)
