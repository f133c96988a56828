"""The outbox relay (database -> queue, at least once) and the job that handles each row."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from server.core.manifest import Job, JobOptions
from server.core.models import utcnow
from server.core.queue import enqueue
from server.notifications.wake import after_commit
from server.outbox.dead_letters import UNKNOWN_TOPIC, describe, kill, record_failure
from server.outbox.models import OutboxMessage
from workers.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 200


async def relay_once(runtime: Runtime, now: datetime | None = None) -> int:
    """Hand due, undispatched outbox rows to the queue; returns how many were handed over.

    Rows are marked handed over (one attempt more) and committed before their jobs are
    enqueued, so that a job, which may start at once, always finds its row marked: its
    failure (server.outbox.dead_letters) is then never overwritten by this relay. The rows
    Redis did not take are unmarked again for the next round; after a crash in between
    they look handed over, and the sweep hands them again.
    """
    now = now or utcnow()
    db = runtime.services.db
    async with db.session() as session:
        stmt = (
            sa.select(OutboxMessage)
            .where(
                col(OutboxMessage.dispatched_at).is_(None),
                col(OutboxMessage.available_at) <= now,
                col(OutboxMessage.dead_at).is_(None),
            )
            .order_by(col(OutboxMessage.created_at))
            .limit(BATCH)
        )
        if db.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await session.scalars(stmt)).all()
        for row in rows:
            row.dispatched_at = now
            row.attempts += 1
        ids = [row.id for row in rows]
        await session.commit()
    handed = 0
    try:
        for row_id in ids:
            await enqueue(
                runtime.queue, HANDLE_OUTBOX, key=f"outbox:{row_id}", outbox_id=str(row_id)
            )
            handed += 1
    finally:
        # Redis failed part-way: the rest wait for the next round, their attempt uncounted.
        # The relay loop reports the outage (once) and tries again.
        if handed < len(ids):
            async with db.session() as session:
                await session.execute(
                    sa.update(OutboxMessage)
                    .where(
                        col(OutboxMessage.id).in_(ids[handed:]),
                        col(OutboxMessage.dispatched_at) == now,
                        col(OutboxMessage.processed_at).is_(None),
                    )
                    .values(dispatched_at=None, attempts=col(OutboxMessage.attempts) - 1)
                )
                await session.commit()
    return handed


async def handle_outbox(runtime: Runtime, *, outbox_id: str) -> str:
    """Run the row's topic handler once. A failure is kept on the row, which the relay hands
    over again after a backoff until DOORSTEP_OUTBOX_MAX_ATTEMPTS, then it is DEAD; saq
    itself does not retry (HANDLE_OUTBOX), so the database alone counts the attempts."""
    db = runtime.services.db
    row_id = uuid.UUID(outbox_id)
    async with db.session() as session:
        row = await session.get(OutboxMessage, row_id)
        if row is None or row.processed_at is not None:
            return "already processed"
        if row.dead_at is not None:
            return "dead"
        topic = runtime.registry.outbox.get(row.topic)
        if topic is None:
            log.error("outbox row %s has unknown topic %r: dead", row.id, row.topic)
            kill(row, UNKNOWN_TOPIC)
            await session.commit()
            return UNKNOWN_TOPIC
        try:
            created = await topic.handler(runtime, session, row)
            row.processed_at = utcnow()
            await session.commit()
        except Exception as exc:
            await session.rollback()
            error = describe(exc)
            async with db.session() as failed:
                dead = await record_failure(failed, row_id, error, runtime.services.settings)
            if dead:
                log.error("outbox row %s is dead after its last attempt: %s", row_id, error)
            raise
    await after_commit(runtime, created)
    return f"{len(created)} notifications"


# One try: a failed row waits in the database (backoff, then DEAD; server.outbox).
HANDLE_OUTBOX = Job(handle_outbox, JobOptions(timeout=60, retries=1))
