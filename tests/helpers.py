"""Test helpers shared by the worker, subscription and fault tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from server.services import Services
from server.settings import Settings
from workers.main import build_worker
from workers.runtime import Runtime


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    """Wait (bounded) for something to happen; fails the test if it never does."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("it did not happen in time")


@asynccontextmanager
async def running_worker(settings: Settings, services: Services) -> AsyncIterator[Runtime]:
    """A real saq worker in this event loop, against the test's Redis and database."""
    worker = build_worker(settings, services)
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
