"""Who may change a cohort's sessions and register: its trainers, and admins.

Provisional until the domain's access module lands; another organisation's cohort, and a
cohort the caller does not train, is NOT_FOUND.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.enums import Role
from server.core.errors import not_found
from server.security.access import Actor
from server.training.models import Cohort, CohortTrainer


async def require_cohort_trainer(
    session: AsyncSession,
    actor: Actor,
    cohort_id: uuid.UUID,
    field: str | None,
    what: str = "cohort",
) -> Cohort:
    cohort = await session.scalar(
        sa.select(Cohort).where(
            col(Cohort.id) == cohort_id, col(Cohort.organisation_id) == actor.organisation_id
        )
    )
    if cohort is None:
        raise not_found(what, field)
    if actor.role is not Role.ADMIN:
        trains = await session.scalar(
            sa.select(sa.literal(1)).where(
                col(CohortTrainer.cohort_id) == cohort_id,
                col(CohortTrainer.user_id) == actor.user_id,
            )
        )
        if trains is None:
            raise not_found(what, field)
    return cohort
