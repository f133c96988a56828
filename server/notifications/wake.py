"""After a commit that created notifications: publish them live and wake their channels."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from saq.queue.redis import RedisQueue

from server.core.manifest import JobOptions, JobRef
from server.core.queue import enqueue
from server.notifications import live
from server.notifications.models import ChannelName
from server.notifications.rows import NewNotification

if TYPE_CHECKING:
    from server.core.manifest import JobContext

log = logging.getLogger(__name__)

# The worker's job that sends one channel's due deliveries (workers.dispatch registers
# its function under this name and these limits).
DISPATCH = JobRef(
    "dispatch",
    JobOptions(timeout=300, heartbeat=30, retries=3, retry_delay=1.0, retry_backoff=30),
)


async def kick(queue: RedisQueue, channels: Iterable[ChannelName]) -> None:
    """At most one new dispatch job per channel per second; a dead worker's job blocks none.

    Best effort: when Redis is down the deliveries wait in the database and the sweep
    kicks them later.
    """
    second = int(time.time())
    for channel in channels:
        try:
            await enqueue(
                queue, DISPATCH, key=f"dispatch:{channel}:{second}", channel=channel.value
            )
        except (RedisError, OSError):
            log.warning("could not kick %s dispatch: Redis unreachable", channel)


async def after_commit(ctx: JobContext, created: list[NewNotification]) -> None:
    """Publish new in-app notifications live and wake the channels with work due now."""
    if not created:
        return
    settings = ctx.services.settings
    await live.publish(ctx.services.redis, settings.redis_prefix, created)
    await kick(ctx.queue, set().union(*(n.due_now for n in created)))
