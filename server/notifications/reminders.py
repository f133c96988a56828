"""Reminders: work due at a time, safe to move or cancel.

A domain schedules a reminder in its own transaction (``schedule``); the outbox hands it
to the queue as a job scheduled for ``fire_at``. When the job runs it re-reads the
reminder: a cancelled one (the follow-up was completed, the session moved) does nothing,
and the kind's *resolver* re-checks the subject in the database and says who to tell now.
Moving a reminder cancels the old row and schedules a new one, so the old job fires into
nothing and the new time has its own job.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.models import utcnow
from server.notifications.models import Reminder, ReminderStatus
from server.notifications.spec import NotifySpec
from server.outbox.service import stage

SCHEDULE_TOPIC = "reminder.schedule"

# Given the reminder, return what to send now (nothing when its subject no longer needs it).
Resolver = Callable[[AsyncSession, Reminder], Awaitable[list[NotifySpec]]]
_resolvers: dict[str, Resolver] = {}


def register(kind: str, resolver: Resolver) -> None:
    """Domains register a resolver per reminder kind ("follow_up.due", "session.24h"...)."""
    _resolvers[kind] = resolver


def resolver_for(kind: str) -> Resolver | None:
    return _resolvers.get(kind)


async def schedule(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: str,
    fire_at: datetime,
) -> Reminder:
    reminder = Reminder(
        organisation_id=organisation_id,
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
        fire_at=fire_at,
    )
    session.add(reminder)
    stage(
        session,
        SCHEDULE_TOPIC,
        {"reminder_id": str(reminder.id), "fire_at": fire_at.isoformat()},
        dedupe_key=f"reminder:{reminder.id}",
    )
    return reminder


async def cancel(
    session: AsyncSession, subject_type: str, subject_id: uuid.UUID, kind: str | None = None
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
        stmt = stmt.where(col(Reminder.kind) == kind)
    return len((await session.scalars(stmt)).all())


async def move(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: str,
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
