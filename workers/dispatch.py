"""Sending due deliveries of one channel: claim a batch, send it, record every outcome.

The database is the delivery queue. A claim moves rows PENDING -> SENDING in one
statement (SKIP LOCKED on PostgreSQL, so several workers never claim the same row), and
the outcome is recorded right after the provider answers. A worker killed between the
two leaves rows in SENDING; the sweep settles them as sent-unconfirmed rather than
sending again: the provider very probably has them, and a duplicate push or SMS is
worse than the rare lost one (docs/decisions/0006-job-queue.md).
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Device
from server.core.models import utcnow
from server.core.settings import Settings
from server.notifications.models import ChannelName, Delivery, DeliveryStatus, Notification
from workers.channels.base import Channel, Message, Outcome, Result
from workers.runtime import Runtime

log = logging.getLogger(__name__)
FINAL = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.DEAD,
    DeliveryStatus.SKIPPED,
)
MAX_BATCHES_PER_JOB = 200


async def claim(
    session: AsyncSession, channel: ChannelName, limit: int, now: datetime, dialect: str
) -> list[Delivery]:
    due = (
        sa.select(col(Delivery.id))
        .where(
            col(Delivery.status) == DeliveryStatus.PENDING,
            col(Delivery.channel) == channel,
            col(Delivery.next_attempt_at) <= now,
        )
        .order_by(col(Delivery.next_attempt_at))
        .limit(limit)
    )
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # Ids first, then the update: PostgreSQL may plan `UPDATE ... WHERE id IN (SELECT ...
    # LIMIT n)` as a join that ignores the LIMIT on a table without statistics, and a
    # claim must never take more than one batch (claimed rows are what a crash strands).
    ids = list((await session.scalars(due)).all())
    if not ids:
        await session.commit()
        return []
    claimed = await session.scalars(
        sa.update(Delivery)
        .where(col(Delivery.id).in_(ids), col(Delivery.status) == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=col(Delivery.attempts) + 1)
        .returning(Delivery)
    )
    rows = list(claimed.all())
    await session.commit()
    return rows


async def _messages(session: AsyncSession, rows: list[Delivery]) -> list[Message]:
    notifications = {
        n.id: n
        for n in (
            await session.scalars(
                sa.select(Notification).where(
                    col(Notification.id).in_({r.notification_id for r in rows})
                )
            )
        ).all()
    }
    messages = []
    for row in rows:
        n = notifications[row.notification_id]
        messages.append(
            Message(
                delivery_id=row.id,
                to=row.address,
                title=n.title,
                body=n.body,
                link=n.link,
                data={"notificationId": str(n.id), "kind": n.kind.value, "link": n.link or ""},
            )
        )
    return messages


def backoff(settings: Settings, attempts: int, retry_after: float | None) -> timedelta:
    """Exponential with full jitter, never sooner than the provider's Retry-After."""
    ceiling = min(
        settings.delivery_backoff_max_seconds,
        settings.delivery_backoff_seconds * 2 ** max(attempts - 1, 0),
    )
    delay = random.uniform(ceiling / 2, ceiling)
    return timedelta(seconds=max(delay, retry_after or 0.0))


async def record(
    session: AsyncSession,
    settings: Settings,
    rows: list[Delivery],
    outcomes: list[Outcome],
    now: datetime,
) -> None:
    by_id = {r.id: r for r in rows}
    updates: list[dict[str, Any]] = []
    unregistered: set[uuid.UUID] = set()
    answered = {o.delivery_id for o in outcomes}
    missing = [
        Outcome(r.id, Result.RETRY, error="the channel gave no answer")
        for r in rows
        if r.id not in answered
    ]
    for outcome in [*outcomes, *missing]:
        row = by_id.get(outcome.delivery_id)
        if row is None:
            continue
        change: dict[str, Any] = {
            "id": row.id,
            "last_error": outcome.error,
            "provider_id": outcome.provider_id or row.provider_id,
        }
        if outcome.result is Result.SENT:
            change |= {"status": DeliveryStatus.SENT, "sent_at": now}
        elif outcome.result is Result.DELIVERED:
            change |= {"status": DeliveryStatus.DELIVERED, "sent_at": now, "delivered_at": now}
        elif outcome.result is Result.RETRY and row.attempts < settings.delivery_max_attempts:
            later = now + backoff(settings, row.attempts, outcome.retry_after)
            change |= {"status": DeliveryStatus.PENDING, "next_attempt_at": later}
        elif outcome.result in (Result.RETRY, Result.UNAVAILABLE):
            change |= {"status": DeliveryStatus.DEAD}
        else:
            change |= {"status": DeliveryStatus.FAILED}
            if outcome.result is Result.UNREGISTERED and row.device_id is not None:
                unregistered.add(row.device_id)
        updates.append(change)
    if updates:
        await session.execute(sa.update(Delivery), updates)
    if unregistered:
        await disable_devices(session, unregistered, now)
    await scrub_sensitive(session, {r.notification_id for r in rows})
    await session.commit()


async def disable_devices(session: AsyncSession, device_ids: set[uuid.UUID], now: datetime) -> None:
    """The provider said the token is gone: stop using it, and drop what waits for it."""
    await session.execute(
        sa.update(Device)
        .where(col(Device.id).in_(device_ids), col(Device.disabled_at).is_(None))
        .values(disabled_at=now, disabled_reason="unregistered at the push provider")
    )
    await session.execute(
        sa.update(Delivery)
        .where(
            col(Delivery.device_id).in_(device_ids), col(Delivery.status) == DeliveryStatus.PENDING
        )
        .values(status=DeliveryStatus.SKIPPED, last_error="device unregistered")
    )


async def scrub_sensitive(session: AsyncSession, notification_ids: set[uuid.UUID]) -> None:
    """Erase one-time links from account emails once none of their deliveries can run again."""
    if not notification_ids:
        return
    open_ = sa.select(col(Delivery.notification_id)).where(
        col(Delivery.notification_id).in_(notification_ids),
        col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
    )
    await session.execute(
        sa.update(Notification)
        .where(
            col(Notification.id).in_(notification_ids),
            col(Notification.sensitive).is_(True),
            col(Notification.id).not_in(open_),
        )
        .values(
            body="(This message held a one-time link and was cleared after sending.)", link=None
        )
    )


async def dispatch_channel(
    runtime: Runtime, channel_name: ChannelName, ctx: dict[str, Any] | None = None
) -> int:
    """Send every due delivery of one channel, batch after batch; returns how many."""
    channel: Channel = runtime.channels[channel_name]
    sent = 0
    for _ in range(MAX_BATCHES_PER_JOB):
        async with runtime.services.db.session() as session:
            now = utcnow()
            rows = await claim(
                session, channel_name, channel.max_batch, now, runtime.services.db.dialect
            )
            if not rows:
                break
            messages = await _messages(session, rows)
            try:
                outcomes = await channel.send(messages)
            except Exception as exc:  # a channel bug must not strand claimed rows
                log.exception("channel %s failed", channel_name)
                outcomes = [
                    Outcome(m.delivery_id, Result.RETRY, error=repr(exc)[:500]) for m in messages
                ]
            await record(session, runtime.services.settings, rows, outcomes, utcnow())
            sent += len(rows)
        job = (ctx or {}).get("job")
        if job is not None:
            await job.update()  # heartbeat: this job is alive
    return sent


async def settle_stale_claims(session: AsyncSession, lease: timedelta, now: datetime) -> int:
    """Deliveries left SENDING by a worker that died mid-send: sent, but unconfirmed."""
    ids = (
        await session.scalars(
            sa.update(Delivery)
            .where(
                col(Delivery.status) == DeliveryStatus.SENDING,
                col(Delivery.claimed_at) < now - lease,
            )
            .values(
                status=DeliveryStatus.SENT,
                sent_at=now,
                last_error="unconfirmed: the worker stopped while the provider was "
                "answering; not sent again to avoid a duplicate",
            )
            .returning(col(Delivery.id))
        )
    ).all()
    return len(ids)


async def due_channels(session: AsyncSession, now: datetime) -> set[ChannelName]:
    rows = await session.scalars(
        sa.select(col(Delivery.channel))
        .where(col(Delivery.status) == DeliveryStatus.PENDING, col(Delivery.next_attempt_at) <= now)
        .distinct()
    )
    return set(rows.all())


async def dispatch(ctx: dict[str, Any], *, channel: str) -> int:
    """saq's own job (it heartbeats), registered as DISPATCH, which the domains kick."""
    return await dispatch_channel(Runtime.of(ctx), ChannelName(channel), ctx)
