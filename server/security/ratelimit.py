"""Fixed-window counters in Redis for failed sign-ins, per account and per address."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class FailureLimiter:
    """Counts failures per key; a key at its limit is refused until the window passes.

    When Redis cannot be reached the limiter lets the attempt through and logs it: a
    Redis outage must not lock every member out.
    """

    def __init__(self, redis: Redis, prefix: str, window_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix + "fail:"
        self._window = window_seconds

    async def blocked(self, limits: dict[str, int]) -> bool:
        try:
            counts = await self._redis.mget([self._prefix + k for k in limits])
        except RedisError:
            log.warning("rate limiter: Redis unreachable, allowing attempt")
            return False
        return any(int(c or 0) >= limit for c, limit in zip(counts, limits.values(), strict=True))

    async def fail(self, *keys: str) -> None:
        try:
            # SET NX EX opens the window and INCR keeps its expiry; in one MULTI so a
            # counter never exists without one. (EXPIRE ... NX needs Redis 7; the
            # development Redis is 6.2, where it failed after the INCR had counted:
            # a counter that never expired locked the account out for good.)
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.set(self._prefix + key, 0, ex=self._window, nx=True)
                    pipe.incr(self._prefix + key)
                await pipe.execute()
        except RedisError:
            log.warning("rate limiter: Redis unreachable, failure not counted")

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except RedisError:
            log.warning("rate limiter: Redis unreachable, counter not reset")
