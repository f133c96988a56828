"""Bulk INSERTs that skip the ORM's unit of work, fast on every driver; plain reads."""

from __future__ import annotations

import json
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel

from server.core.models import table_of


def insert_or_skip(session: AsyncSession, model: type[SQLModel]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the session's database: a row a concurrent
    writer inserted first is left as it is (on PostgreSQL after that writer commits)."""
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.on_conflict_do_nothing()


async def insert_rows(
    session: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]]
) -> None:
    """Insert ``rows`` (column values, the same columns in each, none that a concurrent
    writer could also insert) in the session's transaction.

    On PostgreSQL by COPY on the session's own connection (asyncpg's
    ``copy_records_to_table``): a synced batch's 4,500 answers, consent lines and
    reminders took several times as long as multi-row INSERTs. Elsewhere as multi-row
    INSERTs: the RETURNING makes SQLAlchemy batch them ("insertmanyvalues", up to 1,000
    rows a statement).
    """
    if not rows:
        return
    table = table_of(model)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await _copy(connection, table, rows)
        return
    first = next(iter(table.primary_key.columns))
    await session.execute(sa.insert(table).returning(first), rows)


async def _copy(connection: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    as_json = {name for name in columns if isinstance(table.c[name].type, sa.JSON)}
    records = [
        tuple(
            json.dumps(row[name]) if name in as_json and row[name] is not None else row[name]
            for name in columns
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    if getattr(raw.dbapi_connection, "_transaction", True) is None:
        # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement: without one
        # yet, the COPY would commit on its own. A statement opens the transaction.
        await connection.execute(sa.text("SELECT 1"))
    try:
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=records, columns=columns
        )
    except asyncpg.IntegrityConstraintViolationError as error:
        # As SQLAlchemy reports it for a statement: the callers' fallbacks look for it.
        raise IntegrityError(f"COPY {table.name}", None, error) from error


async def read_rows(session: AsyncSession, stmt: Any, params: Any = None) -> Any:
    """Plain rows of ``stmt``, on the session's connection: without the ORM's result
    machinery, which a read of hundreds of rows by id paid for every row."""
    return await (await session.connection()).execute(stmt, params)
