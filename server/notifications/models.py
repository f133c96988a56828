"""Tables of the notifications domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from server.core.enums import ChannelName, enum_column
from server.core.models import Table, utcnow


class DigestFrequency(StrEnum):
    NEVER = "NEVER"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"


class NotificationPreference(Table, table=True):
    """A member's channels, quiet hours (local "HH:MM") and digest; absent means defaults."""

    __tablename__ = "notification_preferences"

    user_id: uuid.UUID = Field(foreign_key="users.id", unique=True, ondelete="CASCADE")
    push_enabled: bool = True
    email_enabled: bool = True
    sms_enabled: bool = False
    quiet_hours_start: str | None = Field(default=None, max_length=5)
    quiet_hours_end: str | None = Field(default=None, max_length=5)
    timezone: str = Field(default="Europe/London", max_length=64)
    digest: DigestFrequency = Field(
        default=DigestFrequency.WEEKLY, sa_type=enum_column(DigestFrequency)
    )


def defaults_for(user_id: uuid.UUID) -> NotificationPreference:
    return NotificationPreference(user_id=user_id)


class NotificationKind(StrEnum):
    FOLLOW_UP_DUE = "FOLLOW_UP_DUE"
    FOLLOW_UP_OVERDUE = "FOLLOW_UP_OVERDUE"
    SESSION_REMINDER = "SESSION_REMINDER"
    SESSION_CHANGED = "SESSION_CHANGED"
    CAMPAIGN_ACTIVATED = "CAMPAIGN_ACTIVATED"
    CAMPAIGN_UPDATE = "CAMPAIGN_UPDATE"
    ENROLLED = "ENROLLED"
    TRAINING_COMPLETED = "TRAINING_COMPLETED"
    DIGEST = "DIGEST"
    SYSTEM = "SYSTEM"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its time (next_attempt_at)
    SENDING = "SENDING"  # claimed by a worker, provider call under way
    SENT = "SENT"  # accepted by the provider
    DELIVERED = "DELIVERED"  # the provider confirmed delivery (receipt / status callback)
    FAILED = "FAILED"  # the provider refused it for good (bad token, invalid)
    DEAD = "DEAD"  # every attempt failed; `doorstep notifications requeue` resends
    SKIPPED = "SKIPPED"  # nothing to do any more (device disabled, channel turned off)
    # Handed to the provider by a worker that died before the answer: it may have gone out,
    # so it is never sent again (server/notifications/deliveries.py).
    UNCONFIRMED = "UNCONFIRMED"


class Notification(Table, table=True):
    """One message to one person: in-app for members, and the root of its deliveries.

    A member's has ``user_id``; a resident's has ``resident_id`` instead, is never in-app
    and has one email or SMS delivery. ``resident_id`` has no foreign key: the residents'
    table belongs to a domain this one must not depend on, and erasing a resident must
    leave these rows behind (anonymised, counted) rather than cascade or block.
    """

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_created", "user_id", "created_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    resident_id: uuid.UUID | None = Field(default=None, index=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: NotificationKind = Field(sa_type=enum_column(NotificationKind))
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    link: str | None = Field(default=None, max_length=500)
    read_at: datetime | None = None
    # False for messages that are only sent (account emails); they are never listed in-app.
    in_app: bool = True
    # Account emails carry a one-time link: it is erased once every delivery is final.
    sensitive: bool = False


class Delivery(Table, table=True):
    """One attempt-tracked send of a notification over one channel to one address."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel", "address"),
        sa.Index("ix_deliveries_due", "status", "channel", "next_attempt_at"),
    )

    notification_id: uuid.UUID = Field(foreign_key="notifications.id", ondelete="CASCADE")
    channel: ChannelName = Field(sa_type=enum_column(ChannelName))
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id", ondelete="SET NULL")
    # Push token, web push subscription (JSON), phone number or email address.
    address: str = Field(max_length=4096)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_type=enum_column(DeliveryStatus)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    # When this attempt's request to the provider began (None: claimed, provably not sent).
    handed_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    provider_id: str | None = Field(default=None, max_length=200, index=True)
    last_error: str | None = Field(default=None, max_length=1000)


class ReminderStatus(StrEnum):
    PENDING = "PENDING"
    FIRED = "FIRED"
    CANCELLED = "CANCELLED"


class Reminder(Table, table=True):
    """Work due at a time, checked against its subject when it fires (moved or done: no-op)."""

    __tablename__ = "reminders"
    __table_args__ = (
        sa.Index("ix_reminders_subject", "subject_type", "subject_id"),
        sa.Index("ix_reminders_due", "status", "fire_at"),
    )

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id")
    subject_type: str = Field(max_length=50)
    subject_id: uuid.UUID
    kind: str = Field(max_length=50)
    fire_at: datetime
    status: ReminderStatus = Field(
        default=ReminderStatus.PENDING, sa_type=enum_column(ReminderStatus)
    )
    fired_at: datetime | None = None
