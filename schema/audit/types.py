from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from schema.accounts.loaders import AccountsLoaders
from schema.accounts.types import UserType
from schema.context import Info
from server.audit.models import AuditEntry


@strawberry.type(name="AuditEntry")
class AuditEntryType:
    id: strawberry.ID
    occurred_at: datetime
    action: str
    entity_type: str
    entity_id: strawberry.ID | None
    _actor_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryType:
        return cls(
            id=strawberry.ID(str(entry.id)),
            occurred_at=entry.occurred_at,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=strawberry.ID(str(entry.entity_id)) if entry.entity_id else None,
            _actor_id=entry.actor_id,
        )

    @strawberry.field
    async def actor(self, info: Info) -> UserType | None:
        if self._actor_id is None:
            return None
        user = await info.context.loaders(AccountsLoaders).user.load(self._actor_id)
        return UserType.of(user) if user else None
