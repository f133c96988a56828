"""Enumerations of the campaigns domain (names fixed by the client contract)."""

from __future__ import annotations

from enum import StrEnum


class CampaignKind(StrEnum):
    LISTENING = "LISTENING"
    ACTION = "ACTION"


class CampaignStatus(StrEnum):
    """Moves only forward: DRAFT -> ACTIVE -> CLOSED."""

    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"


class QuestionKind(StrEnum):
    TEXT = "TEXT"
    SCALE = "SCALE"
    SINGLE_CHOICE = "SINGLE_CHOICE"
    MULTI_CHOICE = "MULTI_CHOICE"
    YES_NO = "YES_NO"


class FollowUpStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class EventKind(StrEnum):
    HOUSE_MEETING = "HOUSE_MEETING"
    PUBLIC_MEETING = "PUBLIC_MEETING"
    ACTION = "ACTION"
    TRAINING = "TRAINING"


class RsvpStatus(StrEnum):
    GOING = "GOING"
    MAYBE = "MAYBE"
    NOT_GOING = "NOT_GOING"


class SyncStatus(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"


class ConsentKind(StrEnum):
    """What a resident agreed to; each is its own line of the consent ledger."""

    STORE_DETAILS = "STORE_DETAILS"
    CONTACT_AGAIN = "CONTACT_AGAIN"
    HEAR_BACK = "HEAR_BACK"


class ConsentMethod(StrEnum):
    """How the consent was given."""

    DOORSTEP = "DOORSTEP"
    LINK = "LINK"
    SMS = "SMS"
    EMAIL = "EMAIL"
