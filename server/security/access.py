"""The signed-in caller and the checks every domain function applies to it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from server.core.enums import Role
from server.core.errors import AccessDenied


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in member of exactly one organisation."""

    user_id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise AccessDenied("FORBIDDEN")

    def has(self, *roles: Role) -> bool:
        return self.role in roles


STAFF = (Role.ADMIN, Role.SENIOR_ORGANISER)
MEMBER_VIEWERS = (Role.ADMIN, Role.SENIOR_ORGANISER, Role.TRAINER)


def require_actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise AccessDenied("UNAUTHENTICATED")
    return actor
