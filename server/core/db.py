"""Async engine and sessions; the differences between SQLite and PostgreSQL live here."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A pooled connection is replaced once this old, and pinged before use once it has sat
# unused in the pool this long (a restarted server or a dropped idle connection shows then).
RECYCLE_SECONDS = 1800
IDLE_PING_SECONDS = 10.0


def _ping_after_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a connection on checkout only if it sat idle, instead of pool_pre_ping's round
    trip (BEGIN, a statement, ROLLBACK on asyncpg) at every checkout. A busy server pings
    nothing; a connection that died in use fails that request, and SQLAlchemy then
    invalidates it and every connection older than it."""

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool drops this connection and checks out a fresh one.
            raise exc.DisconnectionError(str(error)) from error

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


def create_engine(
    url: str, *, idle_ping_seconds: float = IDLE_PING_SECONDS, **kwargs: Any
) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_recycle", RECYCLE_SECONDS)
    if parsed.get_driver_name() == "asyncpg":
        # PostgreSQL's JIT compiles any statement it estimates as costly; for the API's
        # statements (many correlated counts, each a few ms) compiling took longer than
        # running: 47 of ProgrammeProgress's 97 ms (bench/README.md, training).
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("server_settings", {}).setdefault("jit", "off")
    engine = create_async_engine(url, **kwargs)
    _ping_after_idle(engine, idle_ping_seconds)
    return engine


class Database:
    """One engine and its session factory, created at start-up and disposed at shutdown."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
