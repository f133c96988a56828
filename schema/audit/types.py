from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import strawberry

from schema.accounts.types import UserType


@strawberry.type(name="AuditEntry")
class AuditEntryType:
    id: strawberry.ID
    occurred_at: datetime
    action: str
    entity_type: str
    entity_id: strawberry.ID | None
    actor: UserType | None

    @classmethod
    def of(cls, row: sa.Row[Any]) -> AuditEntryType:
        """From a row of server.audit.queries.ENTRY_COLUMNS (its actor joined in)."""
        return cls(
            id=strawberry.ID(str(row.id)),
            occurred_at=row.occurred_at,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=strawberry.ID(str(row.entity_id)) if row.entity_id else None,
            actor=UserType.of_columns(row, "by_"),
        )
