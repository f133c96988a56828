"""Test helpers shared by the worker, subscription and fault tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from server.accounts.models import Device, User
from server.core.db import Database
from server.core.enums import Platform, PushProvider, Role
from server.core.manifest import Registry
from server.core.services import Services
from server.core.settings import Settings
from server.domains import REGISTRY
from tests.redis_server import free_port
from workers.main import build_worker
from workers.runtime import Runtime

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    """Wait (bounded) for something to happen; fails the test if it never does."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("it did not happen in time")


async def start_api(
    settings: Settings, var_dir: Path, **env: str
) -> tuple[asyncio.subprocess.Process, str]:
    """``doorstep serve`` in a process of its own, as production starts it, on a free port;
    returns the process and its base URL. ``env`` adds DOORSTEP_* settings."""
    port = free_port()
    environ = {
        **os.environ,
        "DOORSTEP_DATABASE_URL": settings.database_url,
        "DOORSTEP_REDIS_URL": settings.effective_redis_url,
        "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
        "DOORSTEP_SECRET_KEY": SECRET,
        "DOORSTEP_VAR_DIR": str(var_dir),
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server.cli.main", "serve", "--port", str(port)),
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(ready, seconds=30)
    return process, base


async def stop_api(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await process.wait()


@asynccontextmanager
async def running_worker(
    settings: Settings, services: Services, registry: Registry = REGISTRY
) -> AsyncIterator[Runtime]:
    """A real saq worker in this event loop, against the test's Redis and database."""
    worker = build_worker(settings, services, registry)
    await worker.queue.connect()
    task = asyncio.create_task(worker.start())

    async def started() -> bool:
        return "runtime" in worker.context

    await eventually(started)
    try:
        yield worker.context["runtime"]
    finally:
        await worker.stop()
        await task
        await worker.queue.disconnect()


async def add_organisers(
    db: Database,
    organisation_id: uuid.UUID,
    count: int,
    *,
    phones: bool = True,
    password_hash: str | None = None,
    chunk: int = 1000,
) -> list[User]:
    """``count`` organisers of one organisation, each with one Expo device when ``phones``."""
    users: list[User] = []
    async with db.session() as session:
        for start in range(0, count, chunk):
            batch = [
                User(
                    organisation_id=organisation_id,
                    email=f"o{i}@{organisation_id}.test",
                    display_name=f"Organiser {i}",
                    role=Role.ORGANISER,
                    password_hash=password_hash,
                )
                for i in range(start, min(start + chunk, count))
            ]
            session.add_all(batch)
            await session.flush()
            if phones:
                session.add_all(
                    Device(
                        user_id=u.id,
                        platform=Platform.IOS,
                        provider=PushProvider.EXPO,
                        token=f"ExponentPushToken[{u.id}]",
                    )
                    for u in batch
                )
                await session.flush()
            users += batch
        await session.commit()
    return users
