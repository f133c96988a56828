"""Firing a reminder: re-checked against the database at the moment it runs."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.models import utcnow
from server.notifications.models import Reminder, ReminderStatus
from server.notifications.reminders import resolver_for
from server.notifications.service import NewNotification, create_notifications
from workers.outbox import after_commit
from workers.queue import enqueue
from workers.runtime import Runtime

log = logging.getLogger(__name__)
EARLY_TOLERANCE = timedelta(seconds=2)


async def fire(runtime: Runtime, reminder_id: uuid.UUID, now: datetime | None = None) -> str:
    now = now or utcnow()
    created: list[NewNotification] = []
    async with runtime.services.db.session() as session:
        reminder = await session.get(Reminder, reminder_id)
        if reminder is None or reminder.status is not ReminderStatus.PENDING:
            return "nothing to do"
        if reminder.fire_at > now + EARLY_TOLERANCE:
            # Woken early (a sweep re-enqueue): wait for its time.
            await enqueue(
                runtime.queue,
                "fire_reminder",
                key=f"reminder:{reminder.id}",
                at=reminder.fire_at,
                reminder_id=str(reminder.id),
            )
            return "not yet"
        resolver = resolver_for(reminder.kind)
        specs = await resolver(session, reminder) if resolver else []
        if resolver is None:
            log.error("no resolver for reminder kind %r; cancelling %s", reminder.kind, reminder.id)
        for spec in specs:
            created.extend(await create_notifications(session, spec, now))
        if not await _mark(
            session, reminder, ReminderStatus.FIRED if resolver else ReminderStatus.CANCELLED, now
        ):
            await session.rollback()
            return "fired elsewhere"
        await session.commit()
    await after_commit(runtime, created)
    return f"{len(created)} notifications"


async def _mark(
    session: AsyncSession, reminder: Reminder, status: ReminderStatus, now: datetime
) -> bool:
    """Only a still-pending reminder moves on (a cancel racing with the fire wins once)."""
    done = await session.scalar(
        sa.update(Reminder)
        .where(col(Reminder.id) == reminder.id, col(Reminder.status) == ReminderStatus.PENDING)
        .values(status=status, fired_at=now)
        .returning(col(Reminder.id))
    )
    return done is not None


async def requeue_due(
    runtime: Runtime, session: AsyncSession, horizon: timedelta, now: datetime
) -> int:
    """Re-enqueue pending reminders due soon, in case Redis lost their jobs (keys dedupe)."""
    rows = (
        await session.scalars(
            sa.select(Reminder).where(
                col(Reminder.status) == ReminderStatus.PENDING,
                col(Reminder.fire_at) <= now + horizon,
            )
        )
    ).all()
    for r in rows:
        await enqueue(
            runtime.queue,
            "fire_reminder",
            key=f"reminder:{r.id}",
            at=r.fire_at,
            reminder_id=str(r.id),
        )
    return len(rows)


async def fire_reminder(ctx: dict[str, Any], *, reminder_id: str) -> str:
    return await fire(Runtime.of(ctx), uuid.UUID(reminder_id))
