"""Deliveries that did not get through: listed for admins, resent on request."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.enums import Role
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.notifications.models import Delivery, DeliveryStatus, Notification
from server.security.access import Actor

FAILED = (DeliveryStatus.DEAD, DeliveryStatus.FAILED)


async def list_failures(session: AsyncSession, actor: Actor, page: PageRequest) -> Page[Delivery]:
    actor.require(Role.ADMIN)
    stmt = (
        sa.select(Delivery)
        .join(Notification, col(Notification.id) == col(Delivery.notification_id))
        .where(
            col(Notification.organisation_id) == actor.organisation_id,
            col(Delivery.status).in_(FAILED),
        )
    )
    return await paginate(
        session, stmt, [col(Delivery.updated_at), col(Delivery.id)], page, descending=True
    )


async def requeue_dead(session: AsyncSession, ids: list[uuid.UUID] | None = None) -> int:
    """Give DEAD deliveries (all, or these) a fresh set of attempts, due now."""
    stmt = (
        sa.update(Delivery)
        .where(col(Delivery.status) == DeliveryStatus.DEAD)
        .values(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=utcnow(), claimed_at=None
        )
        .returning(col(Delivery.id))
    )
    if ids is not None:
        stmt = stmt.where(col(Delivery.id).in_(ids))
    requeued = len((await session.scalars(stmt)).all())
    await session.commit()
    return requeued
