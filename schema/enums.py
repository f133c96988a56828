"""The shared GraphQL enums (names and values fixed by the client contract).

Enums are registered with Strawberry in place, so one class serves both. A domain's own
enums are registered beside its types (schema/<domain>/enums.py).
"""

from __future__ import annotations

import strawberry

from server.core.enums import Platform, PushProvider, Role
from server.core.errors import UserErrorCode

for _enum in (Role, Platform, PushProvider, UserErrorCode):
    strawberry.enum(_enum, name=_enum.__name__)

__all__ = [
    "Platform",
    "PushProvider",
    "Role",
    "UserErrorCode",
]
