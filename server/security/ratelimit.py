"""Fixed-window attempt counters: sign-ins and password resets, per account and per address.

Each attempt is checked and counted in one atomic step in Redis (a Lua script), so
concurrent attempts cannot all pass a check before any of them is counted. While Redis is
unreachable the same limits are kept in process memory (per process), and the outage is
logged once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS: the counters; ARGV[1]: the window in seconds; ARGV[i + 1]: the limit of KEYS[i].
# Refused (0) when any counter is at its limit, and then nothing is counted; otherwise
# every counter counts the attempt (1). A counter gets its window's expiry when it has
# none: when it is new, and to heal one left without. (No EXPIRE ... NX: Redis 6.2.)
_TAKE = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ARGV[1])
  end
end
return 1
"""

# Uncount one attempt; DECR keeps the expiry, and a counter that is gone stays gone.
_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 1
"""


class RedisOutage:
    """Whether Redis is thought down, shared by the limiters of a process.

    ``failed()`` logs a warning only when an outage starts and ``answered()`` an info
    only when it ends, however many attempts happen in between. While down, Redis is
    tried again at most every ``retry_seconds``; attempts in between go straight to the
    in-process counters instead of each waiting on a dead connection.
    """

    def __init__(self, retry_seconds: float = 2.0) -> None:
        self.retry_seconds = retry_seconds
        self.down = False
        self._next_try = 0.0

    def should_try(self) -> bool:
        if not self.down:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + self.retry_seconds
        return True

    def failed(self, exc: RedisError) -> None:
        if not self.down:
            self.down = True
            self._next_try = time.monotonic() + self.retry_seconds
            log.warning(
                "rate limits: Redis unreachable (%s); keeping them in this process",
                type(exc).__name__,
            )

    def answered(self) -> None:
        if self.down:
            self.down = False
            log.info("rate limits: Redis reachable again; keeping them in Redis")


class LocalCounters:
    """The same fixed windows in process memory, for while Redis is down."""

    MAX_KEYS = 100_000

    def __init__(self, window_seconds: int) -> None:
        self._window = window_seconds
        # key -> (count, monotonic time the window ends)
        self._counts: dict[str, tuple[int, float]] = {}

    def _count(self, key: str, now: float) -> int:
        entry = self._counts.get(key)
        return entry[0] if entry and entry[1] > now else 0

    def take(self, limits: Mapping[str, int]) -> bool:
        now = time.monotonic()
        if any(self._count(key, now) >= limit for key, limit in limits.items()):
            return False
        if len(self._counts) >= self.MAX_KEYS:
            self._forget_expired(now)
        for key in limits:
            entry = self._counts.get(key)
            if entry and entry[1] > now:
                self._counts[key] = (entry[0] + 1, entry[1])
            else:
                self._counts[key] = (1, now + self._window)
        return True

    def give_back(self, key: str) -> None:
        entry = self._counts.get(key)
        if entry and entry[0] > 0:
            self._counts[key] = (entry[0] - 1, entry[1])

    def reset(self, key: str) -> None:
        self._counts.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        # Still full: drop the oldest windows. Refused attempts create no counters, so
        # only a flood from very many addresses gets here.
        for key in list(self._counts)[: max(0, len(self._counts) - self.MAX_KEYS // 2)]:
            del self._counts[key]


class AttemptLimiter:
    """Attempts per key in a fixed window; an attempt that would pass any limit is refused.

    ``take`` counts an attempt on all its keys at once, or refuses it and counts nothing.
    ``give_back`` uncounts one (a login that succeeded does not count against its
    address) and ``reset`` clears a key.
    """

    def __init__(self, redis: Redis, prefix: str, window_seconds: int, outage: RedisOutage) -> None:
        self._redis = redis
        self._prefix = prefix
        self._window = window_seconds
        self._outage = outage
        self._local = LocalCounters(window_seconds)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def _in_redis(self, call: Callable[[], Awaitable[object]]) -> tuple[bool, object]:
        """(True, its result) when Redis answered the call; (False, None) when it is down."""
        if not self._outage.should_try():
            return False, None
        try:
            result = await call()
        except RedisError as exc:
            self._outage.failed(exc)
            return False, None
        self._outage.answered()
        return True, result

    async def take(self, limits: Mapping[str, int]) -> bool:
        keys = [self._prefix + k for k in limits]
        answered, allowed = await self._in_redis(
            lambda: self._take(keys=keys, args=[self._window, *limits.values()])
        )
        return bool(allowed) if answered else self._local.take(limits)

    async def give_back(self, key: str) -> None:
        answered, _ = await self._in_redis(lambda: self._give_back(keys=[self._prefix + key]))
        if not answered:
            self._local.give_back(key)

    async def reset(self, key: str) -> None:
        self._local.reset(key)
        await self._in_redis(lambda: self._redis.delete(self._prefix + key))
