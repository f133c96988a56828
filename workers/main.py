"""A worker process: saq jobs, cron jobs and the outbox relay, against one Redis and database."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from redis.exceptions import RedisError
from saq import CronJob, Worker
from saq.types import PartialTimersDict

from server.queue import create_queue
from server.requestid import configure_logging
from server.services import Services
from server.settings import Settings, get_settings
from workers.channels.registry import build_channels, close_channels
from workers.dispatch import dispatch
from workers.jobs.digests import send_digests
from workers.jobs.receipts import check_receipts
from workers.jobs.reminders import fire_reminder
from workers.outbox import handle_outbox
from workers.queue import JOB_OPTIONS
from workers.runtime import Runtime
from workers.upkeep import start_loops

log = logging.getLogger(__name__)


def build_worker(settings: Settings, services: Services | None = None) -> Worker:
    queue = create_queue(settings)
    loops: list[asyncio.Task[None]] = []

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = Runtime(
            services=services or Services.create(settings),
            queue=queue,
            channels=build_channels(settings),
        )
        ctx["runtime"] = runtime
        loops.extend(start_loops(runtime))

    async def shutdown(ctx: dict[str, Any]) -> None:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        runtime: Runtime | None = ctx.get("runtime")
        if runtime is not None:
            await close_channels(runtime.channels)
            if services is None:
                await runtime.services.close()

    return Worker(
        queue,
        functions=[handle_outbox, dispatch, fire_reminder, check_receipts, send_digests],
        cron_jobs=[
            CronJob(check_receipts, cron="*/5 * * * *", **JOB_OPTIONS["check_receipts"]),
            CronJob(send_digests, cron="0 * * * *", **JOB_OPTIONS["send_digests"]),
        ],
        concurrency=settings.worker_concurrency,
        startup=startup,
        shutdown=shutdown,
        # Find the jobs of a killed worker within seconds, not a minute.
        timers=cast(PartialTimersDict, {"sweep": 5}),
        shutdown_grace_period_s=settings.worker_shutdown_grace_seconds,
    )


async def connect_with_retry(worker: Worker, attempts: int = 60) -> None:
    for attempt in range(attempts):
        try:
            await worker.queue.connect()
            return
        except (RedisError, OSError) as exc:
            log.warning(
                "worker: Redis not reachable (%s); retry %d", type(exc).__name__, attempt + 1
            )
            await asyncio.sleep(min(1 + attempt, 5))
    raise RuntimeError("Redis stayed unreachable")


async def serve(settings: Settings) -> None:
    worker = build_worker(settings)
    await connect_with_retry(worker)
    try:
        await worker.start()
    finally:
        await worker.queue.disconnect()


def run_worker() -> int:
    configure_logging()
    asyncio.run(serve(get_settings()))
    return 0
