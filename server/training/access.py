"""Who sees and changes which programme, cohort and enrolment, in one place.

Admins see and change everything of their organisation. Trainers and senior organisers
see every programme of their organisation (to run cohorts of it) but only the cohorts
they train, which they change. A trainee sees the cohorts they are enrolled in, and in
them only their own enrolment and progress. Anything else is simply not there (NOT_FOUND,
never FORBIDDEN), so existence is not revealed.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.enums import Role
from server.core.errors import AccessDenied, UserError, UserErrorCode, not_found
from server.security.access import Actor
from server.training.models import Cohort, CohortTrainer, Enrolment, Programme

TRAINERS = (Role.TRAINER, Role.SENIOR_ORGANISER)
PROGRAMME_VIEWERS = (Role.ADMIN, *TRAINERS)


def is_admin(actor: Actor) -> bool:
    return actor.has(Role.ADMIN)


def trains(actor: Actor) -> sa.ColumnElement[bool]:
    """Cohort.id is a cohort the actor trains."""
    return col(Cohort.id).in_(
        sa.select(col(CohortTrainer.cohort_id)).where(col(CohortTrainer.user_id) == actor.user_id)
    )


def enrolled(actor: Actor) -> sa.ColumnElement[bool]:
    """Cohort.id is a cohort the actor is enrolled in."""
    return col(Cohort.id).in_(
        sa.select(col(Enrolment.cohort_id)).where(col(Enrolment.trainee_id) == actor.user_id)
    )


def programmes_visible(actor: Actor) -> list[sa.ColumnElement[bool]]:
    clauses = [col(Programme.organisation_id) == actor.organisation_id]
    if not actor.has(*PROGRAMME_VIEWERS):
        clauses.append(sa.false())
    return clauses


def cohorts_visible(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of the cohorts the actor may see."""
    clauses = [col(Cohort.organisation_id) == actor.organisation_id]
    if not is_admin(actor):
        clauses.append(sa.or_(trains(actor), enrolled(actor)))
    return clauses


def enrolments_visible(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of the enrolments the actor may see (of visible cohorts: the
    trainee's own in a cohort they do not train)."""
    clauses = [col(Enrolment.organisation_id) == actor.organisation_id]
    if not is_admin(actor):
        trained = col(Enrolment.cohort_id).in_(
            sa.select(col(CohortTrainer.cohort_id)).where(
                col(CohortTrainer.user_id) == actor.user_id
            )
        )
        clauses.append(sa.or_(trained, col(Enrolment.trainee_id) == actor.user_id))
    return clauses


async def _trains(session: AsyncSession, actor: Actor, cohort_id: uuid.UUID) -> bool:
    if is_admin(actor):
        return True
    found = await session.scalar(
        sa.select(sa.literal(1)).where(
            col(CohortTrainer.cohort_id) == cohort_id,
            col(CohortTrainer.user_id) == actor.user_id,
        )
    )
    return found is not None


async def _require_trains(
    session: AsyncSession, actor: Actor, cohort_id: uuid.UUID, field: str | None
) -> None:
    """FORBIDDEN for someone who sees the cohort (their own enrolment) but does not train it."""
    if not await _trains(session, actor, cohort_id):
        raise UserError.of(
            UserErrorCode.FORBIDDEN, "Only the cohort's trainers may do this.", field
        )


async def cohort_to_change(
    session: AsyncSession, actor: Actor, cohort_id: uuid.UUID, field: str | None = "cohortId"
) -> Cohort:
    """The cohort, for a change by one of its trainers or an admin: NOT_FOUND when the
    actor cannot see it, FORBIDDEN when they see it (their own enrolment) but do not
    train it."""
    stmt = sa.select(Cohort).where(col(Cohort.id) == cohort_id, *cohorts_visible(actor))
    cohort = (await session.scalars(stmt)).one_or_none()
    if cohort is None:
        raise not_found("cohort", field)
    await _require_trains(session, actor, cohort.id, field)
    return cohort


async def enrolment_to_change(
    session: AsyncSession,
    actor: Actor,
    enrolment_id: uuid.UUID,
    field: str | None = "enrolmentId",
) -> Enrolment:
    """The enrolment (locked), for a change by a trainer of its cohort or an admin."""
    stmt = (
        sa.select(Enrolment)
        .where(col(Enrolment.id) == enrolment_id, *enrolments_visible(actor))
        .with_for_update()
    )
    enrolment = (await session.scalars(stmt)).one_or_none()
    if enrolment is None:
        raise not_found("enrolment", field)
    await _require_trains(session, actor, enrolment.cohort_id, field)
    return enrolment


def require_admin(actor: Actor) -> None:
    if not is_admin(actor):
        raise AccessDenied("FORBIDDEN")
