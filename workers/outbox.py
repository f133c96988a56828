"""The outbox relay (database -> queue, at least once) and the job that handles each row."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.manifest import Job, JobOptions
from server.core.models import utcnow
from server.core.queue import enqueue
from server.notifications.wake import after_commit
from server.outbox.models import OutboxMessage
from workers.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 200


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
                    runtime.queue, HANDLE_OUTBOX, key=f"outbox:{row.id}", outbox_id=str(row.id)
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


async def handle_outbox(runtime: Runtime, *, outbox_id: str) -> str:
    async with runtime.services.db.session() as session:
        row = await session.get(OutboxMessage, uuid.UUID(outbox_id))
        if row is None or row.processed_at is not None:
            return "already processed"
        topic = runtime.registry.outbox.get(row.topic)
        if topic is None:
            log.error("outbox row %s has unknown topic %r", row.id, row.topic)
            return "unknown topic"
        created = await topic.handler(runtime, session, row)
        row.processed_at = utcnow()
        await session.commit()
    await after_commit(runtime, created)
    return f"{len(created)} notifications"


HANDLE_OUTBOX = Job(
    handle_outbox, JobOptions(timeout=60, retries=8, retry_delay=1.0, retry_backoff=60)
)
