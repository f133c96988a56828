"""Figures of cohorts and programmes, for any number of them in one statement each.

Cohort stats: trainees, active, completed, withdrawn, and among the ACTIVE ones how many
are on track and behind (server/training/progress.py's rule, in SQL).

Programme progress: the same counts over all its cohorts, and the projection:
``projected = completed + floor(completed / elapsed * remaining)``, where ``elapsed`` is
the days since the programme's first cohort started (no rate before a day has passed:
the projection is the completions so far) and ``remaining`` the days from today to the
target date (0 once it has passed). ``onTrack`` is ``projected >= targetTrainees``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.models import utcnow
from server.training.enums import EnrolmentStatus
from server.training.models import Cohort, Enrolment, Programme
from server.training.progress import BY_COHORTS, figures_of, on_track_rule, params


@dataclass(frozen=True)
class Counts:
    trainee_count: int = 0
    active_count: int = 0
    completed_count: int = 0
    withdrawn_count: int = 0


@dataclass(frozen=True)
class CohortStats(Counts):
    on_track_count: int = 0
    behind_count: int = 0


@dataclass(frozen=True)
class ProgrammeProgress(Counts):
    projected_completed_count: int = 0
    on_track: bool = False


def _cohort_counts(session: AsyncSession, where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """One row per cohort with an enrolment ``where`` lets through; on track and behind by
    the rule trainees' progress shows (``on_track_rule``), counted in the database."""
    figures = figures_of(session).where(where).subquery()
    active = figures.c.status == EnrolmentStatus.ACTIVE
    return sa.select(
        figures.c.cohort_id,
        sa.func.count().label("trainees"),
        *(_tally(figures.c.status == s).label(s.value.lower()) for s in EnrolmentStatus),
        _tally(sa.and_(active, on_track_rule(figures.c).on_track)).label("on_track"),
    ).group_by(figures.c.cohort_id)


async def cohort_stats(
    session: AsyncSession,
    cohort_ids: Sequence[uuid.UUID],
    where: Sequence[sa.ColumnElement[bool]] = (),
    now: datetime | None = None,
) -> dict[uuid.UUID, CohortStats]:
    """Stats by cohort id (every id given), over the enrolments ``where`` lets through."""
    found = {c: CohortStats() for c in cohort_ids}
    if not cohort_ids:
        return found
    statement = _cohort_counts(session, sa.and_(BY_COHORTS, *where))
    values = {"cohort_ids": list(cohort_ids), **params(now or utcnow())}
    for row in await session.execute(statement, values):
        found[row.cohort_id] = CohortStats(
            trainee_count=row.trainees,
            active_count=row.active,
            completed_count=row.completed,
            withdrawn_count=row.withdrawn,
            on_track_count=row.on_track,
            behind_count=row.active - row.on_track,
        )
    return found


def _tally(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _count(status: EnrolmentStatus) -> sa.ColumnElement[int]:
    return _tally(col(Enrolment.status) == status)


_PROGRAMMES = (
    sa.select(
        col(Programme.id),
        col(Programme.target_trainees),
        col(Programme.target_date),
        sa.func.min(col(Cohort.starts_on)).label("first_start"),
        sa.func.count(col(Enrolment.id)).label("trainees"),
        _count(EnrolmentStatus.ACTIVE).label("active"),
        _count(EnrolmentStatus.COMPLETED).label("completed"),
        _count(EnrolmentStatus.WITHDRAWN).label("withdrawn"),
    )
    .select_from(Programme)
    .outerjoin(Cohort, col(Cohort.programme_id) == col(Programme.id))
    .outerjoin(Enrolment, col(Enrolment.cohort_id) == col(Cohort.id))
    .where(col(Programme.id).in_(sa.bindparam("ids", expanding=True)))
    .group_by(col(Programme.id), col(Programme.target_trainees), col(Programme.target_date))
)


def projected_completions(
    completed: int, first_start: date | None, target_date: date, today: date
) -> int:
    """Completions so far plus the current rate per day times the days left."""
    if first_start is None:
        return completed
    elapsed = (today - first_start).days
    remaining = max((target_date - today).days, 0)
    if elapsed <= 0:
        return completed
    return completed + completed * remaining // elapsed


async def programme_progress(
    session: AsyncSession, programme_ids: Sequence[uuid.UUID], now: datetime | None = None
) -> dict[uuid.UUID, ProgrammeProgress]:
    """Progress by programme id (the caller has checked they are the reader's to see).

    Enrolments are counted once per cohort: a person in two cohorts counts twice."""
    if not programme_ids:
        return {}
    today = (now or utcnow()).date()
    found: dict[uuid.UUID, ProgrammeProgress] = {}
    for row in await session.execute(_PROGRAMMES, {"ids": list(programme_ids)}):
        projected = projected_completions(row.completed, row.first_start, row.target_date, today)
        found[row.id] = ProgrammeProgress(
            trainee_count=row.trainees,
            active_count=row.active,
            completed_count=row.completed,
            withdrawn_count=row.withdrawn,
            projected_completed_count=projected,
            on_track=projected >= row.target_trainees,
        )
    return found
