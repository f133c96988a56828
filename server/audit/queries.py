"""Reading the audit log (admins only)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.models import AuditEntry
from server.core.enums import Role
from server.core.pagination import Page, PageRequest, paginate
from server.security.access import Actor


async def list_entries(
    session: AsyncSession, actor: Actor, page: PageRequest, entity_type: str | None = None
) -> Page[AuditEntry]:
    actor.require(Role.ADMIN)
    stmt = sa.select(AuditEntry).where(col(AuditEntry.organisation_id) == actor.organisation_id)
    if entity_type:
        stmt = stmt.where(col(AuditEntry.entity_type) == entity_type)
    return await paginate(
        session,
        stmt,
        [col(AuditEntry.occurred_at), col(AuditEntry.id)],
        page,
        descending=True,
    )
