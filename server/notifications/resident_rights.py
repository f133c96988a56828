"""A resident's data rights as the notification pipeline sees them: stop contacting them
(pending messages cancelled), and erase what it holds about them, keeping only anonymous
counts (how many notifications and deliveries, and in which status)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.notifications import deliveries
from server.notifications.models import Delivery, Notification
from server.notifications.notify import unstage_resident

CANCELLED_NOTE = "cancelled: the resident asked not to be contacted"
ERASED = "(erased)"


@dataclass(frozen=True)
class Cancelled:
    deliveries: int = 0  # pending (or dead, or queued but not handed over) now SKIPPED
    staged: int = 0  # staged events, not yet expanded, the resident was taken out of


def _theirs(resident_id: uuid.UUID) -> sa.Select[Any]:
    return sa.select(col(Notification.id)).where(col(Notification.resident_id) == resident_id)


async def cancel_pending_for_resident(session: AsyncSession, resident_id: uuid.UUID) -> Cancelled:
    """Nothing not yet at a provider will reach this resident; the caller commits (with its
    consent ledger entry). A message already handed to the provider cannot be recalled."""
    # Staged events first: on PostgreSQL this waits for a worker expanding one, whose
    # deliveries the next statement then sees and cancels.
    staged = await unstage_resident(session, resident_id)
    skipped = await deliveries.skip_unsent(session, _theirs(resident_id), CANCELLED_NOTE)
    return Cancelled(deliveries=skipped, staged=staged)


async def erase_resident_addresses(session: AsyncSession, resident_id: uuid.UUID) -> int:
    """Cancel what is pending, then erase the resident's addresses, the words sent to them,
    provider ids and errors (which may quote the address) and the link back to them; the
    rows stay, anonymous, so counts by status hold. The caller commits. Returns how many
    notifications were erased."""
    await cancel_pending_for_resident(session, resident_id)
    ids = list((await session.scalars(_theirs(resident_id))).all())
    if not ids:
        return 0
    await session.execute(
        sa.update(Delivery)
        .where(col(Delivery.notification_id).in_(ids))
        .values(address=ERASED, provider_id=None, last_error=None)
    )
    await session.execute(
        sa.update(Notification),
        [
            {
                "id": notification_id,
                "resident_id": None,
                # The key named the resident; the event part alone could name them too.
                "dedupe_key": f"erased:{notification_id}",
                "title": ERASED,
                "body": ERASED,
                "link": None,
            }
            for notification_id in ids
        ],
    )
    return len(ids)
