"""The saq queue on Redis, shared by the workers (jobs) and the API (the operators' view)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from server.core.manifest import JobOptions
from server.core.settings import Settings


class Enqueueable(Protocol):
    """A Job, or a JobRef for a job whose function lives in workers/."""

    @property
    def name(self) -> str: ...

    @property
    def options(self) -> JobOptions: ...


def create_queue(settings: Settings) -> RedisQueue:
    """One queue per deployment; its Redis keys carry the deployment's prefix."""
    redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2)
    return RedisQueue(redis, name=f"{settings.redis_prefix}{settings.queue_name}")


async def enqueue(
    queue: RedisQueue,
    job: Enqueueable,
    *,
    key: str | None = None,
    at: datetime | None = None,
    **kwargs: Any,
) -> bool:
    """Enqueue (or schedule for ``at``); False when a job with this key is already pending."""
    options = job.options.saq()
    if key is not None:
        options["key"] = key
    if at is not None and at.timestamp() > time.time():
        options["scheduled"] = int(at.timestamp())
    queued = await queue.enqueue(job.name, **options, **kwargs)
    return queued is not None
