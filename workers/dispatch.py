"""The dispatch job: send every due delivery of one channel, batch after batch.

Every state change is a domain function of server/notifications/deliveries.py; this loop
only claims, hands over, calls the channel and records what it answered.
"""

from __future__ import annotations

import logging
from typing import Any

from server.core.models import utcnow
from server.notifications import deliveries
from server.notifications.models import ChannelName
from workers.channels.base import Channel
from workers.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BATCHES_PER_JOB = 200


async def dispatch_channel(
    runtime: Runtime, channel_name: ChannelName, ctx: dict[str, Any] | None = None
) -> int:
    """Send every due delivery of one channel, batch after batch; returns how many."""
    channel: Channel = runtime.channels[channel_name]
    db = runtime.services.db
    sent = 0
    for _ in range(MAX_BATCHES_PER_JOB):
        async with db.session() as session:
            claimed = await deliveries.claim(
                session, channel_name, channel.max_batch, utcnow(), db.dialect
            )
            if not claimed:
                break
            messages = await deliveries.messages_for(session, claimed)
            rows = await deliveries.hand_over(session, claimed, utcnow())
            mine = {r.id for r in rows}
            try:
                outcomes = await channel.send([m for m in messages if m.delivery_id in mine])
            except Exception as exc:  # a channel bug must not strand claimed rows
                log.exception("channel %s failed", channel_name)
                outcomes = deliveries.channel_error(rows, exc)
            await deliveries.record(session, runtime.services.settings, rows, outcomes, utcnow())
            sent += len(rows)
        job = (ctx or {}).get("job")
        if job is not None:
            await job.update()  # heartbeat: this job is alive
    return sent


async def dispatch(ctx: dict[str, Any], *, channel: str) -> int:
    """saq's own job (it heartbeats), registered as DISPATCH, which the domains kick."""
    return await dispatch_channel(Runtime.of(ctx), ChannelName(channel), ctx)
