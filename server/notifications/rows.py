"""What creating notifications in bulk shares: the rows' common values, and what a new
notification tells the code that publishes it and wakes its channels."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from server.notifications.models import ChannelName, DeliveryStatus, NotificationKind

# Recipients per round of bulk statements (one INSERT per table and chunk).
CHUNK = 500
T = TypeVar("T")

FRESH_DELIVERY = {
    "status": DeliveryStatus.PENDING,
    "attempts": 0,
    "claimed_at": None,
    "sent_at": None,
    "delivered_at": None,
    "provider_id": None,
    "last_error": None,
}


@dataclass(frozen=True)
class NewNotification:
    """A notification just created: what publishing it live and waking channels need."""

    id: uuid.UUID
    user_id: uuid.UUID | None  # None for a resident's (never published live)
    kind: NotificationKind
    title: str
    body: str
    link: str | None
    created_at: datetime
    in_app: bool
    # Channels with a delivery of it due at once (not held back by quiet hours).
    due_now: frozenset[ChannelName]


def new_row(row_id: uuid.UUID, now: datetime) -> dict[str, object]:
    return {"id": row_id, "created_at": now, "updated_at": now}


def chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
