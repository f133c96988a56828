"""What one request costs the database: SQL statements and transactions.

- statements: the app run in this process on the same settings and database, with
  SQLAlchemy's ``before_cursor_execute`` counting what one (warm) request sends; the pool's
  pre-ping is not a statement SQLAlchemy counts.
- transactions: ``xact_commit + xact_rollback`` of the benchmark's database in
  ``pg_stat_database``, before and after sequential requests to the real server, divided
  by their number (the pre-ping counts here: it is a round trip of its own). PostgreSQL
  15 backends report their counts to it when idle, up to 10 s late, hence the quiet waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bench.http.workloads import Workload
from bench.notifications import BenchError
from server.core.services import Services
from server.core.settings import Settings
from server.web.app import create_app

STATS_QUIET_SECONDS = 11.0  # PGSTAT_IDLE_INTERVAL (10 s) and a margin


class TransactionCounter:
    """pg_stat_database's committed and rolled-back transactions of one database, read
    from the server's ``postgres`` database so the reads do not count."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.database = url.database
        self._engine: AsyncEngine = create_async_engine(
            url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )

    async def read(self) -> int:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                sa.text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"
                ),
                {"d": self.database},
            )
        return int(value or 0)

    async def close(self) -> None:
        await self._engine.dispose()


async def transactions_per_request(
    counter: TransactionCounter,
    client: httpx.AsyncClient,
    workloads: list[tuple[Workload, dict[str, str]]],
    requests: int,
) -> dict[str, float]:
    """Each workload's transactions per request, ``requests`` sequential requests each,
    with a quiet wait before every reading."""
    result: dict[str, float] = {}
    await asyncio.sleep(STATS_QUIET_SECONDS)
    before = await counter.read()
    for workload, headers in workloads:
        for _ in range(requests):
            response = await client.post(workload.path, content=workload.payload, headers=headers)
            problem = workload.problem(response.status_code, response.text)
            if problem:
                raise BenchError(f"{workload.name}: {problem}")
        await asyncio.sleep(STATS_QUIET_SECONDS)
        after = await counter.read()
        result[workload.name] = (after - before) / requests
        before = after
    return result


@asynccontextmanager
async def in_process_client(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """The app in this process and the SQL statements it sends (cleared by the caller)."""
    services = Services.create(settings)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(services.db.engine.sync_engine, "before_cursor_execute", count)
    app = create_app(settings, services)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench.test", timeout=60
            ) as client,
        ):
            yield client, statements
    finally:
        await services.close()


async def statements_per_request(
    client: httpx.AsyncClient, statements: list[str], workload: Workload, headers: dict[str, str]
) -> int:
    for _ in range(2):  # warm: pool, caches, the revocation check's cache
        await client.post(workload.path, content=workload.payload, headers=headers)
    statements.clear()
    response = await client.post(workload.path, content=workload.payload, headers=headers)
    problem = workload.problem(response.status_code, response.text)
    if problem:
        raise BenchError(f"{workload.name} in process: {problem}")
    return len(statements)
