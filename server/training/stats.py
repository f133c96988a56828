"""Figures of cohorts and programmes, for any number of them in one statement each.

Cohort stats: trainees, active, completed, withdrawn, and among the ACTIVE ones how many
are on track and behind (server/training/progress.py's rule).

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

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.core.models import utcnow
from server.training.enums import EnrolmentStatus
from server.training.models import Cohort, Enrolment, Programme
from server.training.progress import progress_in_cohorts


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


async def cohort_stats(
    session: AsyncSession,
    cohort_ids: Sequence[uuid.UUID],
    where: Sequence[sa.ColumnElement[bool]] = (),
    now: datetime | None = None,
) -> dict[uuid.UUID, CohortStats]:
    """Stats by cohort id (every id given), over the enrolments ``where`` lets through."""
    tallies: dict[uuid.UUID, dict[str, int]] = {c: {} for c in cohort_ids}
    for p in await progress_in_cohorts(session, cohort_ids, now, where=where):
        tally = tallies[p.cohort_id]
        keys = ["trainee_count", f"{p.status.value.lower()}_count"]
        if p.status == EnrolmentStatus.ACTIVE:
            keys.append("on_track_count" if p.on_track else "behind_count")
        for key in keys:
            tally[key] = tally.get(key, 0) + 1
    return {c: CohortStats(**t) for c, t in tallies.items()}


def _count(status: EnrolmentStatus) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((col(Enrolment.status) == status, 1), else_=0)), 0)


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
