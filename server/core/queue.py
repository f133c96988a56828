"""The saq queue on Redis, shared by the workers (jobs) and the API (the operators' view)."""

from __future__ import annotations

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from server.core.settings import Settings


def create_queue(settings: Settings) -> RedisQueue:
    """One queue per deployment; its Redis keys carry the deployment's prefix."""
    redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2)
    return RedisQueue(redis, name=f"{settings.redis_prefix}{settings.queue_name}")
