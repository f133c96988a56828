"""Outbox rows that keep failing: retried with backoff, then parked as DEAD with their last
error, shown to operators (`doorstep outbox status`, /ops/outbox) and requeued on request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.logs import redact
from server.core.models import utcnow
from server.core.settings import Settings
from server.outbox.models import ERROR_LENGTH, OutboxMessage

UNKNOWN_TOPIC = "unknown topic"
MESSAGE_LENGTH = 300


def describe(exc: BaseException) -> str:
    """What to keep of a failure: its type and the start of its message, with emails and
    phone numbers taken out (a row's error is shown to operators, not to residents)."""
    message = redact(" ".join(str(exc).split()))[:MESSAGE_LENGTH]
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:ERROR_LENGTH]


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait before the next attempt, doubling from DOORSTEP_OUTBOX_BACKOFF_SECONDS."""
    seconds = settings.outbox_backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.outbox_backoff_max_seconds))


def kill(row: OutboxMessage, error: str, now: datetime | None = None) -> None:
    row.dead_at = now or utcnow()
    row.last_error = error[:ERROR_LENGTH]


async def record_failure(
    session: AsyncSession,
    row_id: uuid.UUID,
    error: str,
    settings: Settings,
    now: datetime | None = None,
) -> bool:
    """The row's handler failed: hand it over again after a backoff, or, when it has had
    all its attempts, make it DEAD. Commits; returns whether the row is now dead."""
    now = now or utcnow()
    row = await session.get(OutboxMessage, row_id, with_for_update=True)
    if row is None or row.processed_at is not None or row.dead_at is not None:
        return False
    row.last_error = error[:ERROR_LENGTH]
    dead = row.attempts >= settings.outbox_max_attempts
    if dead:
        kill(row, error, now)
    else:
        row.dispatched_at = None
        row.available_at = now + backoff(settings, row.attempts)
    await session.commit()
    return dead


async def expire_stale(
    session: AsyncSession, older_than: timedelta, max_attempts: int, now: datetime
) -> tuple[int, int]:
    """Rows handed over long ago and never finished (Redis lost the job, a worker died, the
    job timed out): hand them over again, or make DEAD those that had every attempt.
    Returns (handed again, dead); the caller commits."""
    stale = (
        col(OutboxMessage.processed_at).is_(None),
        col(OutboxMessage.dead_at).is_(None),
        col(OutboxMessage.dispatched_at) < now - older_than,
    )
    dead = (
        await session.scalars(
            sa.update(OutboxMessage)
            .where(*stale, col(OutboxMessage.attempts) >= max_attempts)
            .values(
                dead_at=now,
                last_error=sa.func.coalesce(
                    col(OutboxMessage.last_error), "handed over but never finished"
                ),
            )
            .returning(col(OutboxMessage.id))
        )
    ).all()
    again = (
        await session.scalars(
            sa.update(OutboxMessage)
            .where(*stale)
            .values(dispatched_at=None)
            .returning(col(OutboxMessage.id))
        )
    ).all()
    return len(again), len(dead)


@dataclass(frozen=True)
class OutboxStatus:
    pending: int  # waiting to be handed over (or for the backoff after a failure)
    handed_over: int  # in the queue, not finished
    processed: int
    dead: int
    dead_rows: list[OutboxMessage]  # the most recent first, at most ``limit``


async def outbox_status(session: AsyncSession, limit: int = 100) -> OutboxStatus:
    state = sa.case(
        (col(OutboxMessage.dead_at).is_not(None), "dead"),
        (col(OutboxMessage.processed_at).is_not(None), "processed"),
        (col(OutboxMessage.dispatched_at).is_not(None), "handed_over"),
        else_="pending",
    ).label("state")
    rows = await session.execute(sa.select(state, sa.func.count()).group_by(state))
    counts: dict[str, int] = {name: count for name, count in rows.all()}
    dead_rows = (
        await session.scalars(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.dead_at).is_not(None))
            .order_by(col(OutboxMessage.dead_at).desc(), col(OutboxMessage.id))
            .limit(limit)
        )
    ).all()
    return OutboxStatus(
        pending=counts.get("pending", 0),
        handed_over=counts.get("handed_over", 0),
        processed=counts.get("processed", 0),
        dead=counts.get("dead", 0),
        dead_rows=list(dead_rows),
    )


async def requeue_dead(session: AsyncSession, ids: list[uuid.UUID] | None = None) -> int:
    """Give DEAD rows (these, or every one) a fresh set of attempts, due now. Commits.

    The last error stays on the row until it next fails, for whoever looks at it."""
    stmt = (
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.dead_at).is_not(None))
        .values(dead_at=None, dispatched_at=None, attempts=0, available_at=utcnow())
        .returning(col(OutboxMessage.id))
    )
    if ids is not None:
        stmt = stmt.where(col(OutboxMessage.id).in_(ids))
    requeued = len((await session.scalars(stmt)).all())
    await session.commit()
    return requeued
