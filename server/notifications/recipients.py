"""Who to tell, for rules that name people by role and place."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Area, User, UserArea
from server.core.enums import Role


async def area_with_ancestors(
    session: AsyncSession, organisation_id: uuid.UUID, area_id: uuid.UUID
) -> list[uuid.UUID]:
    chain: list[uuid.UUID] = []
    current: uuid.UUID | None = area_id
    while current is not None and current not in chain:
        area = await session.get(Area, current)
        if area is None or area.organisation_id != organisation_id:
            break
        chain.append(area.id)
        current = area.parent_id
    return chain


async def senior_organisers_for_area(
    session: AsyncSession, organisation_id: uuid.UUID, area_id: uuid.UUID
) -> list[uuid.UUID]:
    """Escalation goes to the senior organisers of the area or of any area containing it."""
    areas = await area_with_ancestors(session, organisation_id, area_id)
    if not areas:
        return []
    rows = await session.scalars(
        sa.select(col(User.id))
        .join(UserArea, col(UserArea.user_id) == col(User.id))
        .where(
            col(UserArea.area_id).in_(areas),
            col(User.organisation_id) == organisation_id,
            col(User.role) == Role.SENIOR_ORGANISER,
            col(User.is_active).is_(True),
        )
        .distinct()
    )
    return list(rows.all())
