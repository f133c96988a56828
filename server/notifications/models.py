"""Tables of the notifications domain."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlmodel import Field

from server.enums import enum_column
from server.models import Table


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
