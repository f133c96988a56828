from __future__ import annotations

import strawberry

from schema.audit.types import AuditEntryType
from schema.context import Info
from schema.pagination import Connection, connection, page_request
from schema.permissions import IsAuthenticated
from server.audit.queries import list_entries


@strawberry.input
class AuditLogFilter:
    entity_type: str | None = None


@strawberry.type
class AuditQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="Admins only.")
    async def audit_log(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = None,
        filter: AuditLogFilter | None = None,
    ) -> Connection[AuditEntryType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page = await list_entries(
                session, ctx.require_actor(), request, filter.entity_type if filter else None
            )
        return connection(ctx, page, AuditEntryType.of)
