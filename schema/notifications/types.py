from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import strawberry

from schema.notifications.enums import NotificationKind
from schema.pagination import Connection
from server.notifications.models import Delivery, Notification


@strawberry.type(name="Notification")
class NotificationType:
    id: strawberry.ID
    kind: NotificationKind
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, n: Notification | sa.Row[Any]) -> NotificationType:
        return cls(
            id=strawberry.ID(str(n.id)),
            kind=n.kind,
            title=n.title,
            body=n.body,
            link=n.link,
            created_at=n.created_at,
            read_at=n.read_at,
        )

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> NotificationType:
        return cls(
            id=strawberry.ID(event["id"]),
            kind=NotificationKind(event["kind"]),
            title=event["title"],
            body=event["body"],
            link=event["link"],
            created_at=datetime.fromisoformat(event["createdAt"]),
            read_at=None,
        )


@strawberry.type
class NotificationConnection(Connection[NotificationType]):
    unread_count: int


@strawberry.type(name="DeliveryFailure")
class DeliveryFailureType:
    """A delivery that did not get through (DEAD after every retry, or FAILED for good)."""

    id: strawberry.ID
    channel: str
    status: str
    attempts: int
    last_error: str | None
    updated_at: datetime
    notification_id: strawberry.ID

    @classmethod
    def of(cls, d: Delivery) -> DeliveryFailureType:
        return cls(
            id=strawberry.ID(str(d.id)),
            channel=d.channel.value,
            status=d.status.value,
            attempts=d.attempts,
            last_error=d.last_error,
            updated_at=d.updated_at,
            notification_id=strawberry.ID(str(d.notification_id)),
        )
