"""Waking the dispatchers of channels that have deliveries due."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from redis.exceptions import RedisError
from saq.queue.redis import RedisQueue

from server.notifications.models import ChannelName
from workers.queue import enqueue

log = logging.getLogger(__name__)


async def kick(queue: RedisQueue, channels: Iterable[ChannelName]) -> None:
    """At most one new dispatch job per channel per second; a dead worker's job blocks none.

    Best effort: when Redis is down the deliveries wait in the database and the sweep
    kicks them later.
    """
    second = int(time.time())
    for channel in channels:
        try:
            await enqueue(
                queue, "dispatch", key=f"dispatch:{channel}:{second}", channel=channel.value
            )
        except (RedisError, OSError):
            log.warning("could not kick %s dispatch: Redis unreachable", channel)
