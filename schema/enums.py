"""GraphQL enums (names and values fixed by the client contract).

The domain's own enums are registered with Strawberry in place, so one class serves both.
"""

from __future__ import annotations

import strawberry

from server.core.enums import Platform, PushProvider, Role
from server.core.errors import UserErrorCode
from server.notifications.models import DigestFrequency, NotificationKind

for _enum in (Role, Platform, PushProvider, DigestFrequency, NotificationKind, UserErrorCode):
    strawberry.enum(_enum, name=_enum.__name__)

__all__ = [
    "DigestFrequency",
    "NotificationKind",
    "Platform",
    "PushProvider",
    "Role",
    "UserErrorCode",
]
