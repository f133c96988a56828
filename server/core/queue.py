"""The saq queue on Redis, shared by the workers (jobs) and the API (the operators' view)."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis
from saq.job import Job, Status
from saq.queue.base import logger
from saq.queue.redis import ID_PREFIX, PubSubMultiplexer, RedisQueue

from server.core.manifest import JobOptions
from server.core.settings import Settings


class PrefixedQueue(RedisQueue):
    """saq's RedisQueue with every key and pubsub channel under the deployment's prefix.

    saq names its keys ``saq:<queue>:...`` (lists, sorted sets, locks, worker info),
    ``saq:job:<queue>:<key>`` (jobs, and the channels their updates go out on) and
    ``saq:abort:<key>`` (aborts, shared by every queue). Here each starts with the prefix,
    and aborts carry the queue's name too; the Lua scripts only touch keys passed to them.
    """

    def __init__(self, redis: Redis, *, prefix: str, name: str, **kwargs: Any) -> None:
        self.prefix = prefix  # before saq's __init__, which names its keys
        super().__init__(redis, name=name, **kwargs)
        self._pubsub = PubSubMultiplexer(redis.pubsub(), prefix=self.job_id("")[:-1])

    def job_id(self, job_key: str) -> str:
        return f"{self.prefix}{ID_PREFIX}{self.name}:{job_key}"

    def job_key_from_id(self, job_id: str) -> str:
        return job_id[len(self.job_id("")) :]

    def namespace(self, key: str) -> str:
        return f"{self.prefix}saq:{self.name}:{key}"

    def abort_key(self, job: Job) -> str:
        return f"{self.prefix}saq:abort:{self.name}:{job.key}"

    # saq's own versions of these three use Job.abort_id, outside the prefix.

    async def abort(self, job: Job, error: str, ttl: float = 5) -> None:
        async with self._op_sem:
            async with self.redis.pipeline(transaction=True) as pipe:
                job.status = Status.ABORTING
                job.error = error
                pipe.lrem(self._queued, 0, job.id)
                pipe.zrem(self._incomplete, job.id)
                pipe.set(job.id, self.serialize(job))
                pipe.set(self.abort_key(job), error, px=int(ttl * 1000))
                pipe.publish(job.id, job.status)
                dequeued, *_ = await pipe.execute()
            if dequeued:
                await self.finish(job, Status.ABORTED, error=error)
                await self.redis.delete(self.abort_key(job))
            else:
                await self.redis.lrem(self._active, 0, job.id)

    async def finish_abort(self, job: Job) -> None:
        await self.redis.delete(self.abort_key(job))
        await super(RedisQueue, self).finish_abort(job)

    async def _enqueue(self, job: Job) -> Job | None:
        if not self._enqueue_script:
            self._enqueue_script = self.redis.register_script(_ENQUEUE)
        async with self._op_sem:
            if not await self._enqueue_script(
                keys=[self._incomplete, job.id, self._queued, self.abort_key(job)],
                args=[self.serialize(job), job.scheduled],
                client=self.redis,
            ):
                return None
        logger.info("Enqueuing %s", job.info(logger.isEnabledFor(logging.DEBUG)))
        return job


# saq 0.26's enqueue script, unchanged: the abort key is its KEYS[4].
_ENQUEUE = """
if not redis.call('ZSCORE', KEYS[1], KEYS[2]) and redis.call('EXISTS', KEYS[4]) == 0 then
    redis.call('SET', KEYS[2], ARGV[1])
    redis.call('ZADD', KEYS[1], ARGV[2], KEYS[2])
    if ARGV[2] == '0' then redis.call('RPUSH', KEYS[3], KEYS[2]) end
    return 1
else
    return nil
end
"""


def create_queue(settings: Settings) -> PrefixedQueue:
    """One queue per deployment; every Redis key it uses starts with the prefix."""
    redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2)
    return PrefixedQueue(redis, prefix=settings.redis_prefix, name=settings.queue_name)


class Enqueueable(Protocol):
    """A Job, or a JobRef for a job whose function lives in workers/."""

    @property
    def name(self) -> str: ...

    @property
    def options(self) -> JobOptions: ...


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
