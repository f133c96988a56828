"""Redis clients for the API and the workers."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

# One quick retry: redis-py's default policy spends about 4 s on an unreachable server,
# which an outage would add to every login (the rate limiter) and every readiness probe.
_RETRY = Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1)


def create_redis(url: str) -> Redis:
    return Redis.from_url(
        url, socket_connect_timeout=1, socket_timeout=5, health_check_interval=30, retry=_RETRY
    )
