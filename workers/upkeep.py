"""The worker's own loops: relay the outbox often, sweep for lost or stale work now and then."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from server.core.models import utcnow
from server.notifications.deliveries import due_channels, settle_stale_claims
from server.notifications.reminders import requeue_due
from server.notifications.wake import kick
from server.outbox.dead_letters import expire_stale
from workers.outbox import relay_once
from workers.runtime import Runtime

log = logging.getLogger(__name__)
REMINDER_HORIZON = timedelta(minutes=10)
STALE_OUTBOX = timedelta(minutes=2)


async def sweep_once(runtime: Runtime) -> None:
    """Make up for anything Redis or a dead worker lost; every step is safe to repeat."""
    settings = runtime.services.settings
    now = utcnow()
    async with runtime.services.db.session() as session:
        requeued, dead = await expire_stale(
            session, STALE_OUTBOX, settings.outbox_max_attempts, now
        )
        settled = await settle_stale_claims(
            session, timedelta(seconds=settings.send_lease_seconds), now
        )
        await session.commit()
        channels = await due_channels(session, now)
        reminders = await requeue_due(runtime, session, REMINDER_HORIZON, now)
    await kick(runtime.queue, channels)
    if requeued or settled:
        log.info(
            "sweep: %d outbox rows re-handed; stale sends: %d unconfirmed, %d due again",
            requeued,
            settled.unconfirmed,
            settled.resent,
        )
    if dead:
        log.error("sweep: %d outbox rows never finished in every attempt: dead", dead)
    log.debug("sweep: channels %s kicked, %d reminders re-enqueued", channels, reminders)


async def every(seconds: float, step: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``step`` forever; an outage of the database or Redis only delays it."""
    failing: str | None = None
    while True:
        try:
            await step()
            if failing:
                log.info("%s: working again after %s", name, failing)
                failing = None
        except (RedisError, SQLAlchemyError, OSError) as exc:
            if failing != type(exc).__name__:  # once per outage, not every round
                failing = type(exc).__name__
                log.warning("%s: %s; retrying every %s s", name, failing, seconds)
        except Exception:
            log.exception("%s failed; retrying", name)
        await asyncio.sleep(seconds)


def start_loops(runtime: Runtime) -> list[asyncio.Task[None]]:
    settings = runtime.services.settings
    return [
        asyncio.create_task(
            every(settings.relay_interval_seconds, lambda: relay_once(runtime), "outbox relay")
        ),
        asyncio.create_task(
            every(settings.sweep_interval_seconds, lambda: sweep_once(runtime), "sweep")
        ),
    ]
