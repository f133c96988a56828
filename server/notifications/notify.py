"""Telling people: a domain stages a NotifySpec in its transaction; the worker creates
the notifications and their deliveries once it is committed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from server.core.manifest import Topic
from server.notifications.service import NewNotification, create_notifications
from server.notifications.spec import NotifySpec
from server.outbox.models import OutboxMessage
from server.outbox.service import stage

if TYPE_CHECKING:
    from server.core.manifest import JobContext


async def _create(
    ctx: JobContext, session: AsyncSession, row: OutboxMessage
) -> list[NewNotification]:
    return await create_notifications(session, NotifySpec.from_payload(row.payload))


NOTIFY = Topic("notify", _create)


def stage_notification(session: AsyncSession, spec: NotifySpec) -> None:
    """Record, in the caller's transaction, that these people must be told."""
    stage(session, NOTIFY, spec.to_payload(), dedupe_key=f"notify:{spec.event_key}")
