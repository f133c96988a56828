"""Enumerations shared by the domain and the GraphQL layer (names fixed by the contract)."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


class Role(StrEnum):
    ADMIN = "ADMIN"
    TRAINER = "TRAINER"
    SENIOR_ORGANISER = "SENIOR_ORGANISER"
    ORGANISER = "ORGANISER"


class Platform(StrEnum):
    IOS = "IOS"
    ANDROID = "ANDROID"
    WEB = "WEB"


class PushProvider(StrEnum):
    EXPO = "EXPO"
    FCM = "FCM"
    APNS = "APNS"
    WEBPUSH = "WEBPUSH"


class ChannelName(StrEnum):
    """How a notification leaves: a push provider, SMS or email (DOORSTEP_CHANNELS)."""

    EXPO = "EXPO"
    FCM = "FCM"
    WEBPUSH = "WEBPUSH"
    SMS = "SMS"
    EMAIL = "EMAIL"


class TokenPurpose(StrEnum):
    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105


def enum_column(enum: type[StrEnum]) -> sa.Enum:
    """Stored as plain text (no PostgreSQL enum type, so adding a value needs no DDL)."""
    return sa.Enum(enum, native_enum=False, length=32, validate_strings=True)
