"""A change watermark: a ``since`` that never skips a row committed late.

Conversations are stamped ``updated_at`` when written, but a transaction may commit after
a reader has already read past its stamp. So every conversation-writing transaction
registers its start in a Redis sorted set before it writes (its rows are stamped later)
and leaves once it has committed or rolled back. ``safe_since`` is the oldest start still
open, or now, less a margin for clocks of API processes that differ a little: a client
that passes it back as ``since`` sees every row committed after it read. Entries older
than a transaction may live are ignored, so a crashed process holds nothing back long.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.core.models import utcnow

log = logging.getLogger(__name__)

MARGIN = timedelta(seconds=1)
MAX_AGE = timedelta(minutes=2)


def _key(prefix: str, organisation_id: uuid.UUID) -> str:
    return f"{prefix}campaigns:writers:{organisation_id}"


@asynccontextmanager
async def writing(redis: Redis, prefix: str, organisation_id: uuid.UUID) -> AsyncIterator[None]:
    """Hold the watermark back while the block writes (and until it leaves)."""
    key, member = _key(prefix, organisation_id), uuid.uuid4().hex
    registered = False
    try:
        async with redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.zadd(key, {member: utcnow().timestamp()})
            pipe.expire(key, int(MAX_AGE.total_seconds()) * 2)
            await pipe.execute()
        registered = True
    except RedisError:
        log.warning("watermark not registered: Redis unavailable")
    try:
        yield
    finally:
        if registered:
            try:
                await redis.zrem(key, member)
            except RedisError:
                log.warning("watermark entry left to expire: Redis unavailable")


async def safe_since(
    redis: Redis, prefix: str, organisation_id: uuid.UUID, now: datetime | None = None
) -> datetime:
    now = now or utcnow()
    oldest = now
    try:
        open_starts = await redis.zrangebyscore(
            _key(prefix, organisation_id),
            (now - MAX_AGE).timestamp(),
            "+inf",
            start=0,
            num=1,
            withscores=True,
        )
        if open_starts:
            oldest = min(now, datetime.fromtimestamp(float(open_starts[0][1]), UTC))
    except RedisError:
        # Without Redis no open write is known: hold back as long as one may live.
        oldest = now - MAX_AGE
    return oldest - MARGIN
