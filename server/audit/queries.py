"""Reading the audit log (admins only)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.members import USER_COLUMNS
from server.accounts.models import User
from server.audit.models import AuditEntry
from server.core.enums import Role
from server.core.pagination import Page, PageRequest, paginate
from server.security.access import Actor

# An entry as the API shows it, with its actor (a member of the same organisation, or
# nothing) joined in under "by_" names: plain rows, and no query per actor.
ENTRY_COLUMNS: tuple[Any, ...] = (
    col(AuditEntry.id),
    col(AuditEntry.occurred_at),
    col(AuditEntry.action),
    col(AuditEntry.entity_type),
    col(AuditEntry.entity_id),
    *(c.label(f"by_{c.key}") for c in USER_COLUMNS),
)


async def list_entries(
    session: AsyncSession, actor: Actor, page: PageRequest, entity_type: str | None = None
) -> Page[sa.Row[Any]]:
    actor.require(Role.ADMIN)
    stmt = (
        sa.select(*ENTRY_COLUMNS)
        .outerjoin(
            User,
            sa.and_(
                col(User.id) == AuditEntry.actor_id,
                col(User.organisation_id) == actor.organisation_id,
            ),
        )
        .where(col(AuditEntry.organisation_id) == actor.organisation_id)
    )
    if entity_type:
        stmt = stmt.where(col(AuditEntry.entity_type) == entity_type)
    return await paginate(
        session,
        stmt,
        [col(AuditEntry.occurred_at), col(AuditEntry.id)],
        page,
        descending=True,
    )
