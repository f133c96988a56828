"""A worker process: saq jobs, cron jobs and the outbox relay, against one Redis and database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from redis.exceptions import RedisError
from saq import CronJob, Worker
from saq.queue.redis import RedisQueue
from saq.types import PartialTimersDict

from server.core import logs
from server.core.logs import configure_logging
from server.core.manifest import Job, Registry
from server.core.preflight import require_ready
from server.core.queue import create_queue
from server.core.services import Services
from server.core.settings import Settings, get_settings
from server.domains import REGISTRY
from server.notifications.wake import DISPATCH
from workers.channels.registry import build_channels, close_channels
from workers.dispatch import dispatch
from workers.jobs.receipts import CHECK_RECEIPTS
from workers.outbox import HANDLE_OUTBOX
from workers.runtime import Runtime
from workers.upkeep import start_loops

log = logging.getLogger(__name__)
REDIS_PROBE_SECONDS = 1.0
REDIS_PROBE_TIMEOUT = 2.0


class SupervisedWorker(Worker):
    """saq's Worker that waits out a Redis outage instead of spinning on it.

    saq's job loops swallow a failed dequeue and try again at once, so with Redis gone
    every one of them (``concurrency``) spins on refused connections (more than half a
    core here) while its scheduler logs a traceback a second. A probe pings Redis every
    second: while Redis does not answer, the job loops and the scheduler wait, and the
    connections are dropped so that a dequeue blocked on a dead socket (a partition)
    fails instead of hanging for good. The outbox relay and the sweep (workers.upkeep)
    are not saq's: they keep running and catch up when Redis returns.
    """

    def __init__(self, queue: RedisQueue, *args: Any, **kwargs: Any) -> None:
        super().__init__(queue, *args, **kwargs)
        self.redis = queue.redis
        self.redis_up = asyncio.Event()
        self.redis_up.set()

    async def process(self) -> bool:
        if not self.redis_up.is_set():
            await self._redis_or_stop()
            if self.event.is_set():
                return False
        result: bool = await super().process()
        return result

    async def schedule(self, lock: int = 1) -> None:
        if self.redis_up.is_set():
            await super().schedule(lock)

    async def upkeep(self) -> list[asyncio.Task[None]]:
        tasks: list[asyncio.Task[None]] = await super().upkeep()
        tasks.append(asyncio.create_task(self._watch_redis(), name="watch-redis"))
        return tasks

    async def _redis_or_stop(self) -> None:
        waits = [
            asyncio.ensure_future(self.redis_up.wait()),
            asyncio.ensure_future(self.event.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _redis_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.redis.ping(), REDIS_PROBE_TIMEOUT)
        except (RedisError, OSError, TimeoutError):
            return False
        return True

    async def _watch_redis(self) -> None:
        while not self.event.is_set():
            up = await self._redis_answers()
            if up and not self.redis_up.is_set():
                log.info("worker: Redis is back; taking jobs again")
                self.redis_up.set()
            elif not up and self.redis_up.is_set():
                log.warning("worker: Redis unreachable; jobs wait until it answers")
                self.redis_up.clear()
                with contextlib.suppress(RedisError, OSError):
                    await self.redis.connection_pool.disconnect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.event.wait(), REDIS_PROBE_SECONDS)


async def log_job(ctx: dict[str, Any]) -> None:
    """Every line logged for a job carries its function, its key and any outbox row's id.

    saq calls this in the task that dequeued the job, and that task ends with the job: the
    values reach the job's own task and saq's lines about it, and no other job.
    """
    job = ctx["job"]
    logs.job.set(job.function)
    logs.job_id.set(job.key)
    outbox_id = (job.kwargs or {}).get("outbox_id")
    logs.outbox_id.set(str(outbox_id) if outbox_id else None)


# The worker's own jobs; the domains' come from their manifests (Runtime.registry).
WORKER_JOBS: tuple[Job[Runtime], ...] = (HANDLE_OUTBOX, CHECK_RECEIPTS)


def saq_function(job: Job[Any]) -> Callable[..., Awaitable[object]]:
    """saq calls a job with its ctx first; a Job's function takes the Runtime first."""

    async def run(ctx: dict[str, Any], **kwargs: Any) -> object:
        return await job.function(Runtime.of(ctx), **kwargs)

    run.__name__ = run.__qualname__ = job.name
    return run


def build_worker(
    settings: Settings, services: Services | None = None, registry: Registry = REGISTRY
) -> Worker:
    queue = create_queue(settings)
    loops: list[asyncio.Task[None]] = []

    async def startup(ctx: dict[str, Any]) -> None:
        runtime = Runtime(
            services=services or Services.create(settings),
            queue=queue,
            channels=build_channels(settings),
            registry=registry,
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

    declared = (*WORKER_JOBS, *registry.jobs.values())
    functions = {job.name: saq_function(job) for job in declared}
    if len(functions) != len(declared) or DISPATCH.name in functions:
        raise ValueError("a domain's job has the name of one of the worker's own")
    return SupervisedWorker(
        queue,
        functions=[*functions.values(), (DISPATCH.name, dispatch)],
        cron_jobs=[
            CronJob(functions[job.name], cron=job.cron, **_cron_options(job))
            for job in declared
            if job.cron
        ],
        concurrency=settings.worker_concurrency,
        startup=startup,
        shutdown=shutdown,
        before_process=log_job,
        # Find the jobs of a killed worker within seconds, not a minute.
        timers=cast(PartialTimersDict, {"sweep": 5}),
        shutdown_grace_period_s=settings.worker_shutdown_grace_seconds,
    )


def _cron_options(job: Job[Any]) -> dict[str, Any]:
    # CronJob takes saq's timeout, heartbeat and retries (no retry delays: the next tick is one).
    options = job.options.saq()
    return {k: options[k] for k in ("timeout", "heartbeat", "retries")}


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
        # With Redis gone, saq's disconnect raises while unsubscribing: stop cleanly anyway.
        with contextlib.suppress(RedisError, OSError):
            await worker.queue.disconnect()


def run_worker(settings: Settings | None = None) -> int:
    settings = settings or get_settings()
    require_ready(settings)
    configure_logging(settings)
    asyncio.run(serve(settings))
    return 0
