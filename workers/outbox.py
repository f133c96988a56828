"""The outbox relay (database -> queue, at least once) and the job that handles each row."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Organisation, User
from server.core.models import utcnow
from server.notifications import live
from server.notifications.reminders import SCHEDULE_TOPIC
from server.notifications.service import NewNotification, create_notifications
from server.notifications.spec import NOTIFY_TOPIC, NotifySpec
from server.outbox.dead_letters import UNKNOWN_TOPIC, describe, kill, record_failure
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
                runtime.queue, "handle_outbox", key=f"outbox:{row_id}", outbox_id=str(row_id)
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


async def _notify(
    runtime: Runtime, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    return await create_notifications(session, NotifySpec.from_payload(row.payload))


async def _account_email(
    runtime: Runtime, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    """Invitation and password-reset emails: the link is erased from the row once used."""
    payload = row.payload
    user = await session.get(User, uuid.UUID(payload["user_id"]))
    if user is None or "link" not in payload:
        return []
    organisation = await session.get(Organisation, user.organisation_id)
    expires = datetime.fromisoformat(payload["expires_at"])
    spec = NotifySpec(
        organisation_id=user.organisation_id,
        user_ids=[user.id],
        template=payload["template"],
        event_key=f"outbox:{row.id}",
        params={
            "organisation": organisation.name if organisation else "your organisation",
            "link": payload["link"],
            "expires": expires.strftime("%d %B %Y at %H:%M UTC"),
        },
    )
    created = await create_notifications(session, spec)
    row.payload = {k: v for k, v in payload.items() if k != "link"}
    # Never the link itself: a one-time link in a log would be a way into the account.
    log.info("account email %s for user %s", payload["template"], user.id)
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
    "email.account": _account_email,
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
    """Run the row's topic handler once. A failure is kept on the row, which the relay hands
    over again after a backoff until DOORSTEP_OUTBOX_MAX_ATTEMPTS, then it is DEAD; saq
    itself does not retry (JOB_OPTIONS), so the database alone counts the attempts."""
    runtime = Runtime.of(ctx)
    db = runtime.services.db
    row_id = uuid.UUID(outbox_id)
    async with db.session() as session:
        row = await session.get(OutboxMessage, row_id)
        if row is None or row.processed_at is not None:
            return "already processed"
        if row.dead_at is not None:
            return "dead"
        handler = HANDLERS.get(row.topic)
        if handler is None:
            log.error("outbox row %s has unknown topic %r: dead", row.id, row.topic)
            kill(row, UNKNOWN_TOPIC)
            await session.commit()
            return UNKNOWN_TOPIC
        try:
            created = await handler(runtime, session, row)
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
