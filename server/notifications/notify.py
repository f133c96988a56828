"""Telling people: a domain stages a NotifySpec in its transaction; the worker creates
the notifications and their deliveries once it is committed.

A spec naming residents carries their addresses in the outbox row until the worker has
expanded it; then the row keeps only how many there were. Until then
``unstage_resident`` can take a resident out of it (stop contact, erasure).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.manifest import Topic
from server.notifications.rows import NewNotification
from server.notifications.service import create_notifications
from server.notifications.spec import NotifySpec
from server.notifications.templates import template
from server.outbox.models import OutboxMessage
from server.outbox.service import stage

if TYPE_CHECKING:
    from server.core.manifest import JobContext


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _create(
    ctx: JobContext, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    if "residents" in row.payload:
        # Read the payload again under the row's lock: a resident taken out of it
        # meanwhile (unstage_resident) is then never told.
        await session.refresh(row, with_for_update=True if _is_postgresql(session) else None)
        if row.processed_at is not None:
            return []
    spec = NotifySpec.from_payload(row.payload)
    created = await create_notifications(session, spec)
    if spec.residents:
        payload = {k: v for k, v in row.payload.items() if k != "residents"}
        row.payload = {**payload, "resident_count": len(spec.residents)}
    return created


NOTIFY = Topic("notify", _create)


def _dedupe_key(spec: NotifySpec) -> str:
    return f"notify:{spec.event_key}"


def stage_notification(session: AsyncSession, spec: NotifySpec) -> None:
    """Record, in the caller's transaction, that these people must be told."""
    if spec.residents and not template(spec.template).residents:
        raise ValueError(f"template {spec.template!r} is not one for residents")
    stage(session, NOTIFY, spec.to_payload(), dedupe_key=_dedupe_key(spec))


async def stage_notification_once(session: AsyncSession, spec: NotifySpec) -> bool:
    """As stage_notification, unless this event was staged already (a retried request):
    then nothing, and False. Two at once still meet the outbox's unique dedupe key."""
    staged = await session.scalar(
        sa.select(col(OutboxMessage.id)).where(col(OutboxMessage.dedupe_key) == _dedupe_key(spec))
    )
    if staged is not None:
        return False
    stage_notification(session, spec)
    return True


async def unstage_resident(session: AsyncSession, resident_id: uuid.UUID) -> int:
    """Take a resident out of every staged event not yet expanded (the caller commits);
    returns how many events named them. Waits, on PostgreSQL, for a worker expanding one."""
    stmt = sa.select(OutboxMessage).where(
        col(OutboxMessage.topic) == NOTIFY.name,
        col(OutboxMessage.processed_at).is_(None),
        sa.cast(col(OutboxMessage.payload), sa.Text).contains(str(resident_id)),
    )
    if _is_postgresql(session):
        stmt = stmt.with_for_update()
    stmt = stmt.execution_options(populate_existing=True)
    removed = 0
    wanted = str(resident_id)
    for row in (await session.scalars(stmt)).all():
        residents = row.payload.get("residents") or []
        kept = [r for r in residents if r.get("id") != wanted]
        if len(kept) != len(residents):
            row.payload = {**row.payload, "residents": kept}
            removed += 1
    return removed
