"""The outbox relay (database -> queue, at least once) and the job that handles each row."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.emails import ACCOUNT_EMAIL_TOPIC, account_email_spec, without_link
from server.core.models import utcnow
from server.notifications import live
from server.notifications.reminders import SCHEDULE_TOPIC
from server.notifications.service import NewNotification, create_notifications
from server.notifications.spec import NOTIFY_TOPIC, NotifySpec
from server.outbox.models import OutboxMessage
from workers.kick import kick
from workers.queue import enqueue
from workers.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 200

# A topic handler does its work in the session (the caller commits) and returns the
# notifications it created, to publish live and dispatch once committed.
Handler = Callable[[Runtime, AsyncSession, OutboxMessage], Awaitable[list[NewNotification]]]


async def relay_once(runtime: Runtime, now: datetime | None = None) -> int:
    """Hand due, undispatched outbox rows to the queue; returns how many were handed over.

    A row is marked dispatched only after its job is enqueued, so a Redis outage leaves
    it for the next round. Enqueued-but-not-marked (a crash in between) is re-enqueued,
    which the job key and the idempotent handler make harmless.
    """
    now = now or utcnow()
    db = runtime.services.db
    async with db.session() as session:
        stmt = (
            sa.select(OutboxMessage)
            .where(
                col(OutboxMessage.dispatched_at).is_(None), col(OutboxMessage.available_at) <= now
            )
            .order_by(col(OutboxMessage.created_at))
            .limit(BATCH)
        )
        if db.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await session.scalars(stmt)).all()
        handed = 0
        try:
            for row in rows:
                await enqueue(
                    runtime.queue, "handle_outbox", key=f"outbox:{row.id}", outbox_id=str(row.id)
                )
                row.dispatched_at = now
                row.attempts += 1
                handed += 1
        finally:
            # Keep what was handed over even when Redis fails part-way; the relay loop
            # reports the outage (once) and tries again.
            await session.commit()
    return handed


async def requeue_stale(session: AsyncSession, older_than: timedelta, now: datetime) -> int:
    """Rows handed over long ago but never processed (Redis lost the job): hand them again."""
    ids = (
        await session.scalars(
            sa.update(OutboxMessage)
            .where(
                col(OutboxMessage.processed_at).is_(None),
                col(OutboxMessage.dispatched_at) < now - older_than,
            )
            .values(dispatched_at=None)
            .returning(col(OutboxMessage.id))
        )
    ).all()
    return len(ids)


async def _notify(
    runtime: Runtime, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    return await create_notifications(session, NotifySpec.from_payload(row.payload))


async def _account_email(
    runtime: Runtime, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    spec = await account_email_spec(session, row.payload, f"outbox:{row.id}")
    if spec is None:
        return []
    created = await create_notifications(session, spec)
    row.payload = without_link(row.payload)
    # Never the link itself: a one-time link in a log would be a way into the account.
    log.info("account email %s for user %s", spec.template, spec.user_ids[0])
    return created


async def _schedule_reminder(
    runtime: Runtime, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    fire_at = datetime.fromisoformat(row.payload["fire_at"])
    reminder_id = row.payload["reminder_id"]
    await enqueue(
        runtime.queue,
        "fire_reminder",
        key=f"reminder:{reminder_id}",
        at=fire_at,
        reminder_id=reminder_id,
    )
    return []


HANDLERS: dict[str, Handler] = {
    NOTIFY_TOPIC: _notify,
    ACCOUNT_EMAIL_TOPIC: _account_email,
    SCHEDULE_TOPIC: _schedule_reminder,
}


async def after_commit(runtime: Runtime, created: list[NewNotification]) -> None:
    """Publish new in-app notifications live and wake the channels with work due now."""
    if not created:
        return
    settings = runtime.services.settings
    await live.publish(runtime.services.redis, settings.redis_prefix, created)
    await kick(runtime.queue, set().union(*(n.due_now for n in created)))


async def handle_outbox(ctx: dict[str, Any], *, outbox_id: str) -> str:
    runtime = Runtime.of(ctx)
    async with runtime.services.db.session() as session:
        row = await session.get(OutboxMessage, uuid.UUID(outbox_id))
        if row is None or row.processed_at is not None:
            return "already processed"
        handler = HANDLERS.get(row.topic)
        if handler is None:
            log.error("outbox row %s has unknown topic %r", row.id, row.topic)
            return "unknown topic"
        created = await handler(runtime, session, row)
        row.processed_at = utcnow()
        await session.commit()
    await after_commit(runtime, created)
    return f"{len(created)} notifications"
