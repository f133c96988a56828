"""The notifications domain's GraphQL enums (names and values fixed by the client contract)."""

import strawberry

from server.notifications.models import DigestFrequency, NotificationKind

for _enum in (DigestFrequency, NotificationKind):
    strawberry.enum(_enum, name=_enum.__name__)

__all__ = ["DigestFrequency", "NotificationKind"]
