"""Recording audit entries inside the caller's transaction: who did what to which entity."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.audit.models import AuditEntry
from server.core.models import Table
from server.security.access import Actor

# The entity acted on: a row, or its table and id (None when the action touched several).
Target = Table | tuple[type[Table], uuid.UUID | None]


def audit(
    session: AsyncSession,
    actor: Actor | User,
    action: str,
    target: Target,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry for ``actor`` (a signed-in caller, or a user acting on their own
    account) in the actor's organisation; the caller commits."""
    if isinstance(actor, User):
        organisation_id, actor_id = actor.organisation_id, actor.id
    else:
        organisation_id, actor_id = actor.organisation_id, actor.user_id
    return _entry(session, organisation_id, actor_id, action, target, details)


def audit_anonymous(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    action: str,
    target: Target,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry for what someone without an account did (a resident, by their token):
    no actor, and never anything identifying in ``details``."""
    return _entry(session, organisation_id, None, action, target, details)


def _entry(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    action: str,
    target: Target,
    details: dict[str, Any] | None,
) -> AuditEntry:
    if isinstance(target, tuple):
        table, entity_id = target
    else:
        table, entity_id = type(target), target.id
    entry = AuditEntry(
        organisation_id=organisation_id,
        actor_id=actor_id,
        action=action,
        entity_type=table.__name__,
        entity_id=entity_id,
        details=details or {},
    )
    session.add(entry)
    return entry
