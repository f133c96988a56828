"""Cohorts of a programme and their trainers: creating them, reading them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.audit.service import audit
from server.core.errors import AccessDenied, Problem, UserErrorCode, not_found
from server.core.pagination import Page, PageRequest, paginate
from server.core.validation import checked, collect, required_text
from server.security.access import Actor
from server.training import access
from server.training.columns import COHORT_COLUMNS
from server.training.models import Cohort, CohortTrainer, Programme

MAX_TRAINERS = 20
# Cohort lists: the newest start first would hide the current ones; by start, then id.
ORDER = (col(Cohort.starts_on), col(Cohort.id))

_MEMBERS = sa.select(col(User.id), col(User.role)).where(
    col(User.id).in_(sa.bindparam("ids", expanding=True)),
    col(User.organisation_id) == sa.bindparam("organisation_id"),
    col(User.is_active).is_(True),
)
_COHORT = sa.select(*COHORT_COLUMNS).where(col(Cohort.id) == sa.bindparam("cohort_id"))


@dataclass(frozen=True)
class NewCohort:
    programme_id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date
    trainer_ids: Sequence[uuid.UUID] = ()


async def _trainer_problems(
    session: AsyncSession, actor: Actor, trainer_ids: Sequence[uuid.UUID]
) -> list[Problem]:
    if not trainer_ids:
        return []
    params = {"ids": list(set(trainer_ids)), "organisation_id": actor.organisation_id}
    roles = {row.id: row.role for row in await session.execute(_MEMBERS, params)}
    problems: list[Problem] = []
    for i, user_id in enumerate(trainer_ids):
        at = f"input.trainerIds.{i}"
        if user_id not in roles:
            problems.append(Problem(UserErrorCode.NOT_FOUND, "No such member.", at))
        elif roles[user_id] not in access.TRAINERS:
            problems.append(
                Problem(UserErrorCode.INVALID, "Trainers are trainers or senior organisers.", at)
            )
    return problems


async def create_cohort(session: AsyncSession, actor: Actor, data: NewCohort) -> Cohort:
    """A cohort of a programme; a trainer who creates one trains it."""
    if not actor.has(*access.PROGRAMME_VIEWERS):
        raise AccessDenied("FORBIDDEN")
    programme = await session.scalar(
        sa.select(col(Programme.id)).where(
            col(Programme.id) == data.programme_id, *access.programmes_visible(actor)
        )
    )
    if programme is None:
        raise not_found("programme", "input.programmeId")
    problems: list[Problem] = []
    name = checked(lambda: required_text(data.name, "input.name", "a name"), problems)
    if data.ends_on < data.starts_on:
        problems.append(
            Problem(UserErrorCode.INVALID, "The end must not be before the start.", "input.endsOn")
        )
    if len(data.trainer_ids) > MAX_TRAINERS:
        problems.append(
            Problem(
                UserErrorCode.INVALID,
                f"A cohort has at most {MAX_TRAINERS} trainers.",
                "input.trainerIds",
            )
        )
    else:
        problems += await _trainer_problems(session, actor, data.trainer_ids)
    collect(*problems)
    assert name is not None
    trainer_ids = list(dict.fromkeys(data.trainer_ids))
    if not access.is_admin(actor) and actor.user_id not in trainer_ids:
        trainer_ids.append(actor.user_id)
    cohort = Cohort(
        organisation_id=actor.organisation_id,
        programme_id=data.programme_id,
        name=name,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by_id=actor.user_id,
    )
    session.add(cohort)
    await session.flush()
    session.add_all(
        CohortTrainer(cohort_id=cohort.id, user_id=u, organisation_id=actor.organisation_id)
        for u in trainer_ids
    )
    audit(session, actor, "cohort.create", cohort, {"trainers": len(trainer_ids)})
    await session.commit()
    return cohort


async def get_cohort(
    session: AsyncSession, actor: Actor, cohort_id: uuid.UUID
) -> sa.Row[Any] | None:
    stmt = _COHORT.where(*access.cohorts_visible(actor))
    return (await session.execute(stmt, {"cohort_id": cohort_id})).one_or_none()


async def list_cohorts(
    session: AsyncSession,
    actor: Actor,
    page: PageRequest,
    *,
    mine: bool = False,
    programme_id: uuid.UUID | None = None,
) -> Page[sa.Row[Any]]:
    """The cohorts the actor sees; ``mine``: those they train or are enrolled in."""
    stmt = sa.select(*COHORT_COLUMNS).where(*access.cohorts_visible(actor))
    if mine and access.is_admin(actor):  # the visibility already narrows everyone else
        stmt = stmt.where(sa.or_(access.trains(actor), access.enrolled(actor)))
    if programme_id is not None:
        stmt = stmt.where(col(Cohort.programme_id) == programme_id)
    return await paginate(session, stmt, ORDER, page)
