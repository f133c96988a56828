"""Imports every table so that SQLModel.metadata is complete (Alembic, tests)."""

from server.accounts.models import (
    ActionToken,
    Area,
    Device,
    Organisation,
    RefreshToken,
    User,
    UserArea,
)
from server.audit.models import AuditEntry
from server.notifications.models import Delivery, Notification, NotificationPreference, Reminder
from server.outbox.models import OutboxMessage

__all__ = [
    "ActionToken",
    "Area",
    "AuditEntry",
    "Delivery",
    "Device",
    "Notification",
    "NotificationPreference",
    "Organisation",
    "OutboxMessage",
    "RefreshToken",
    "Reminder",
    "User",
    "UserArea",
]
