"""Every state a delivery goes through, and every move between them, in one place.

The database is the delivery queue. ``claim`` moves rows PENDING -> SENDING in one
statement (SKIP LOCKED on PostgreSQL, so several workers never claim the same row);
``hand_over`` stamps ``handed_at`` just before the provider is called; ``record`` writes
the provider's answer. A worker killed in between leaves rows in SENDING, which
``settle_stale_claims`` resolves after the lease: rows never handed over were provably not
sent and go back to PENDING; rows handed over may be at the provider, so they are settled
UNCONFIRMED and never sent again, since a duplicate push or SMS is worse than the rare lost
one (docs/decisions/0006-job-queue.md). Receipts and status callbacks (``confirm``) only
move a delivery forward: never out of FAILED, DEAD or SKIPPED, never back to sending.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Device
from server.core.settings import Settings
from server.notifications.models import ChannelName, Delivery, DeliveryStatus, Notification

# The dispatcher still owes these something; every other status is final: nothing sends
# it again unless an operator requeues it (DEAD only). SENT and UNCONFIRMED may still be
# confirmed or refused by the provider later (see CONFIRMS).
OPEN = frozenset({DeliveryStatus.PENDING, DeliveryStatus.SENDING})
FINAL = frozenset(set(DeliveryStatus) - OPEN)

# What a provider's later word (a receipt, a status callback) may move, and from where.
# PENDING is included: a request that timed out may have reached the provider after all.
CONFIRMS = {
    DeliveryStatus.SENT: frozenset(
        {DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.UNCONFIRMED}
    ),
    DeliveryStatus.DELIVERED: frozenset(
        {
            DeliveryStatus.PENDING,
            DeliveryStatus.SENDING,
            DeliveryStatus.SENT,
            DeliveryStatus.UNCONFIRMED,
        }
    ),
    DeliveryStatus.FAILED: frozenset(
        {
            DeliveryStatus.PENDING,
            DeliveryStatus.SENDING,
            DeliveryStatus.SENT,
            DeliveryStatus.UNCONFIRMED,
        }
    ),
}
CONFIRM_ATTEMPTS = 3
UNCONFIRMED_NOTE = (
    "unconfirmed: the worker stopped while the provider had it; not sent again to avoid a duplicate"
)
NOT_SENT_NOTE = "the worker stopped before sending it; sent again"


@dataclass(frozen=True)
class Message:
    delivery_id: uuid.UUID
    # Push token, web push subscription (JSON text), phone number (E.164) or email address.
    to: str
    title: str
    body: str
    link: str | None = None
    data: dict[str, str] = field(default_factory=dict)


class Result(StrEnum):
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"  # confirmed delivered (receipts, status callbacks)
    RETRY = "retry"  # a passing failure: try again later (429, 5xx, network)
    FAILED = "failed"  # refused for good (invalid request): never retry
    UNREGISTERED = "unregistered"  # the token or address is gone: disable the device
    UNAVAILABLE = "unavailable"  # this deployment cannot send on the channel: dead at once


@dataclass(frozen=True)
class Outcome:
    delivery_id: uuid.UUID
    result: Result
    provider_id: str | None = None  # Expo ticket id, FCM message name, Twilio SID...
    error: str | None = None
    retry_after: float | None = None  # seconds, from the provider's Retry-After


# --- sending --------------------------------------------------------------------------


async def claim(
    session: AsyncSession, channel: ChannelName, limit: int, now: datetime, dialect: str
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries of one channel (PENDING -> SENDING) and commit."""
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
        .values(
            status=DeliveryStatus.SENDING,
            claimed_at=now,
            handed_at=None,
            attempts=col(Delivery.attempts) + 1,
        )
        .returning(Delivery)
    )
    rows = list(claimed.all())
    await session.commit()
    return rows


async def hand_over(session: AsyncSession, rows: list[Delivery], now: datetime) -> list[Delivery]:
    """Mark claimed rows as on their way to the provider, and commit; returns those still
    ours (a sweep may have taken back a claim that sat past its lease)."""
    if not rows:
        return []
    ids = set(
        (
            await session.scalars(
                sa.update(Delivery)
                .where(
                    col(Delivery.id).in_([r.id for r in rows]),
                    col(Delivery.status) == DeliveryStatus.SENDING,
                )
                .values(handed_at=now)
                .returning(col(Delivery.id))
            )
        ).all()
    )
    await session.commit()
    return [r for r in rows if r.id in ids]


async def messages_for(session: AsyncSession, rows: list[Delivery]) -> list[Message]:
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


def channel_error(rows: list[Delivery], exc: Exception) -> list[Outcome]:
    """A channel that raised: every row it had is retried (a bug must not strand claims)."""
    return [Outcome(r.id, Result.RETRY, error=repr(exc)[:500]) for r in rows]


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
    """Write the provider's answer for every row sent (no answer: retry), and commit."""
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
        col(Delivery.notification_id).in_(notification_ids), col(Delivery.status).in_(OPEN)
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


async def skip_unsent(session: AsyncSession, notification_ids: sa.Select[Any], note: str) -> int:
    """Deliveries of these notifications that have not reached a provider are SKIPPED (the
    caller commits); returns how many.

    PENDING, DEAD (an operator's requeue must not send it) and SENDING rows not yet handed
    over: the dispatcher that claimed those re-checks at ``hand_over`` and drops them, so a
    queued message is never sent. Rows already handed over are at the provider.
    """
    skipped = await session.scalars(
        sa.update(Delivery)
        .where(
            col(Delivery.notification_id).in_(notification_ids),
            sa.or_(
                col(Delivery.status).in_([DeliveryStatus.PENDING, DeliveryStatus.DEAD]),
                sa.and_(
                    col(Delivery.status) == DeliveryStatus.SENDING,
                    col(Delivery.handed_at).is_(None),
                ),
            ),
        )
        .values(status=DeliveryStatus.SKIPPED, last_error=note)
        .returning(col(Delivery.id))
    )
    return len(skipped.all())


# --- the sweep ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    unconfirmed: int = 0  # handed to the provider, outcome unknown: never sent again
    resent: int = 0  # provably never sent: due again now

    def __bool__(self) -> bool:
        return bool(self.unconfirmed or self.resent)


async def settle_stale_claims(session: AsyncSession, lease: timedelta, now: datetime) -> Settled:
    """Deliveries left SENDING past the lease by a worker that died; the caller commits."""
    stale = (
        col(Delivery.status) == DeliveryStatus.SENDING,
        col(Delivery.claimed_at) < now - lease,
    )
    unconfirmed = (
        await session.execute(
            sa.update(Delivery)
            .where(*stale, col(Delivery.handed_at).is_not(None))
            .values(status=DeliveryStatus.UNCONFIRMED, last_error=UNCONFIRMED_NOTE)
            .returning(col(Delivery.id), col(Delivery.notification_id))
        )
    ).all()
    resent = (
        await session.scalars(
            sa.update(Delivery)
            .where(*stale, col(Delivery.handed_at).is_(None))
            .values(
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                claimed_at=None,
                # The attempt never reached the provider: it does not count.
                attempts=sa.case((col(Delivery.attempts) > 0, col(Delivery.attempts) - 1), else_=0),
                last_error=NOT_SENT_NOTE,
            )
            .returning(col(Delivery.id))
        )
    ).all()
    await scrub_sensitive(session, {r.notification_id for r in unconfirmed})
    return Settled(unconfirmed=len(unconfirmed), resent=len(resent))


async def due_channels(session: AsyncSession, now: datetime) -> set[ChannelName]:
    rows = await session.scalars(
        sa.select(col(Delivery.channel))
        .where(col(Delivery.status) == DeliveryStatus.PENDING, col(Delivery.next_attempt_at) <= now)
        .distinct()
    )
    return set(rows.all())


# --- what the provider says later -----------------------------------------------------


async def awaiting_receipts(
    session: AsyncSession,
    channel: ChannelName,
    sent_before: datetime,
    sent_after: datetime,
    limit: int,
) -> list[Delivery]:
    """Sent deliveries with a provider id whose receipt is due (sent in the window)."""
    return list(
        (
            await session.scalars(
                sa.select(Delivery)
                .where(
                    col(Delivery.channel) == channel,
                    col(Delivery.status) == DeliveryStatus.SENT,
                    col(Delivery.provider_id).is_not(None),
                    col(Delivery.sent_at) <= sent_before,
                    col(Delivery.sent_at) > sent_after,
                )
                .limit(limit)
            )
        ).all()
    )


async def apply_receipts(
    session: AsyncSession, rows: dict[str, Delivery], answers: dict[str, Outcome], now: datetime
) -> int:
    """Receipts per provider id for these loaded rows; the caller commits. Returns how
    many receipts matched a row."""
    matched = 0
    gone: set[uuid.UUID] = set()
    for provider_id, outcome in answers.items():
        row = rows.get(provider_id)
        if row is None:
            continue
        matched += 1
        if outcome.result is Result.DELIVERED:
            target = DeliveryStatus.DELIVERED
        elif outcome.result in (Result.FAILED, Result.UNREGISTERED):
            target = DeliveryStatus.FAILED
        else:
            continue
        if row.status not in CONFIRMS[target]:
            continue
        row.status = target
        if target is DeliveryStatus.DELIVERED:
            row.delivered_at = now
        else:
            row.last_error = outcome.error
            if outcome.result is Result.UNREGISTERED and row.device_id:
                gone.add(row.device_id)
    if gone:
        await disable_devices(session, gone, now)
    return matched


async def confirm(
    session: AsyncSession,
    channel: ChannelName,
    provider_id: str,
    target: DeliveryStatus,
    now: datetime,
    error: str | None = None,
) -> bool:
    """Apply one provider report (a status callback) and commit; True if the delivery moved."""
    for _ in range(CONFIRM_ATTEMPTS):
        row = (
            await session.execute(
                sa.select(col(Delivery.id), col(Delivery.status), col(Delivery.sent_at)).where(
                    col(Delivery.provider_id) == provider_id, col(Delivery.channel) == channel
                )
            )
        ).first()
        if row is None or row.status not in CONFIRMS[target]:
            return False
        values: dict[str, Any] = {"status": target, "sent_at": row.sent_at or now}
        if target is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        elif target is DeliveryStatus.FAILED:
            values["last_error"] = error
        # Compare-and-set on the state we read: a concurrent report cannot be overwritten.
        changed = await session.scalar(
            sa.update(Delivery)
            .where(col(Delivery.id) == row.id, col(Delivery.status) == row.status)
            .values(**values)
            .returning(col(Delivery.id))
        )
        await session.commit()
        if changed is not None:
            return True
    return False


# --- counting -------------------------------------------------------------------------


async def count_by_status(session: AsyncSession) -> dict[DeliveryStatus, int]:
    """Deliveries per status, every status listed (zero included), in the enum's order."""
    rows = await session.execute(
        sa.select(col(Delivery.status), sa.func.count()).group_by(col(Delivery.status))
    )
    found = {DeliveryStatus(status): count for status, count in rows.all()}
    return {status: found.get(status, 0) for status in DeliveryStatus}
