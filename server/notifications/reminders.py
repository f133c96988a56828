"""Reminders: work due at a time, safe to move or cancel.

A domain schedules a reminder in its own transaction (``schedule``); the outbox hands it
to the queue as a job scheduled for ``fire_at``. When the job runs it re-reads the
reminder: a cancelled one (the follow-up was completed, the session moved) does nothing,
and the kind's *resolver* re-checks the subject in the database and says who to tell now.
Moving a reminder cancels the old row and schedules a new one, so the old job fires into
nothing and the new time has its own job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.bulk import insert_rows
from server.core.manifest import Job, JobOptions, ReminderKind, Topic
from server.core.models import utcnow
from server.core.queue import enqueue
from server.notifications.models import Reminder, ReminderStatus
from server.notifications.rows import NewNotification
from server.notifications.service import create_notifications
from server.notifications.wake import after_commit
from server.outbox.models import OutboxMessage
from server.outbox.service import stage, stage_many

if TYPE_CHECKING:
    from server.core.manifest import JobContext

log = logging.getLogger(__name__)
EARLY_TOLERANCE = timedelta(seconds=2)


async def schedule(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: ReminderKind,
    fire_at: datetime,
) -> Reminder:
    reminder = Reminder(
        organisation_id=organisation_id,
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind.name,
        fire_at=fire_at,
    )
    session.add(reminder)
    stage(
        session,
        SCHEDULE,
        {"reminder_id": str(reminder.id), "fire_at": fire_at.isoformat()},
        dedupe_key=f"reminder:{reminder.id}",
    )
    return reminder


@dataclass(frozen=True)
class Due:
    """One reminder to schedule with ``schedule_many``."""

    organisation_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    kind: ReminderKind
    fire_at: datetime


async def schedule_many(session: AsyncSession, due: Sequence[Due]) -> None:
    """``schedule`` for many reminders at once: one INSERT of the reminders and one of
    their outbox rows, whatever their number (a synced batch's follow-ups)."""
    if not due:
        return
    now = utcnow()
    reminders: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "organisation_id": d.organisation_id,
            "subject_type": d.subject_type,
            "subject_id": d.subject_id,
            "kind": d.kind.name,
            "fire_at": d.fire_at,
            "status": ReminderStatus.PENDING,
        }
        for d in due
    ]
    await insert_rows(session, Reminder, reminders)
    await stage_many(
        session,
        SCHEDULE,
        [
            (
                {"reminder_id": str(r["id"]), "fire_at": r["fire_at"].isoformat()},
                f"reminder:{r['id']}",
            )
            for r in reminders
        ],
    )


async def cancel(
    session: AsyncSession,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: ReminderKind | None = None,
) -> int:
    """Cancel the subject's pending reminders (of one kind, or all); returns how many."""
    stmt = (
        sa.update(Reminder)
        .where(
            col(Reminder.subject_type) == subject_type,
            col(Reminder.subject_id) == subject_id,
            col(Reminder.status) == ReminderStatus.PENDING,
        )
        .values(status=ReminderStatus.CANCELLED, updated_at=utcnow())
        .returning(col(Reminder.id))
    )
    if kind is not None:
        stmt = stmt.where(col(Reminder.kind) == kind.name)
    return len((await session.scalars(stmt)).all())


async def move(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: ReminderKind,
    fire_at: datetime,
) -> Reminder:
    await cancel(session, subject_type, subject_id, kind)
    return await schedule(
        session,
        organisation_id=organisation_id,
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
        fire_at=fire_at,
    )


async def _enqueue_fire(ctx: JobContext, reminder_id: uuid.UUID, at: datetime) -> None:
    await enqueue(
        ctx.queue, FIRE_REMINDER, key=f"reminder:{reminder_id}", at=at, reminder_id=str(reminder_id)
    )


async def _on_scheduled(
    ctx: JobContext, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    """The outbox handler: a committed reminder gets its job, scheduled for its time."""
    await _enqueue_fire(
        ctx, uuid.UUID(row.payload["reminder_id"]), datetime.fromisoformat(row.payload["fire_at"])
    )
    return []


SCHEDULE = Topic("reminder.schedule", _on_scheduled)


async def fire(ctx: JobContext, reminder_id: uuid.UUID, now: datetime | None = None) -> str:
    """Re-check the reminder at the moment it runs, then tell whoever its resolver names."""
    now = now or utcnow()
    created: list[NewNotification] = []
    async with ctx.services.db.session() as session:
        reminder = await session.get(Reminder, reminder_id)
        if reminder is None or reminder.status is not ReminderStatus.PENDING:
            return "nothing to do"
        if reminder.fire_at > now + EARLY_TOLERANCE:
            # Woken early (a sweep re-enqueue): wait for its time.
            await _enqueue_fire(ctx, reminder.id, reminder.fire_at)
            return "not yet"
        kind = ctx.registry.reminders.get(reminder.kind)
        if kind is None:
            # Only rows written by an older release can name a kind no manifest declares.
            log.error("no resolver for reminder kind %r; cancelling %s", reminder.kind, reminder.id)
        for spec in await kind.resolve(session, reminder) if kind else []:
            created.extend(await create_notifications(session, spec, now))
        status = ReminderStatus.FIRED if kind else ReminderStatus.CANCELLED
        if not await _mark(session, reminder, status, now):
            await session.rollback()
            return "fired elsewhere"
        await session.commit()
    await after_commit(ctx, created)
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
    ctx: JobContext, session: AsyncSession, horizon: timedelta, now: datetime
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
        await _enqueue_fire(ctx, r.id, r.fire_at)
    return len(rows)


async def fire_reminder(ctx: JobContext, *, reminder_id: str) -> str:
    return await fire(ctx, uuid.UUID(reminder_id))


FIRE_REMINDER = Job(
    fire_reminder, JobOptions(timeout=60, retries=8, retry_delay=1.0, retry_backoff=60)
)
