"""The training domain's DataLoaders: rows by id and figures for a whole page at once,
from statements built once, scoped to the caller's organisation (docs/decisions/0009)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from strawberry.dataloader import DataLoader

from schema.campaigns.loaders import grouped
from schema.loaders import by_ids, rows_by_id
from server.accounts.members import USER_COLUMNS
from server.accounts.models import User
from server.security.access import Actor
from server.training import access
from server.training.columns import COHORT_COLUMNS, COMPETENCY_COLUMNS, PROGRAMME_COLUMNS
from server.training.models import Cohort as CohortTable
from server.training.models import CohortTrainer, Competency, Programme
from server.training.progress import Progress, progress_of
from server.training.stats import CohortStats, ProgrammeProgress, cohort_stats, programme_progress

if TYPE_CHECKING:
    from schema.context import Context

Row = sa.Row[Any]

_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_ORG: sa.BindParameter[Any] = sa.bindparam("organisation_id")

# Reached through a cohort or programme already checked for this caller.
_PROGRAMMES = by_ids(PROGRAMME_COLUMNS, scoped=col(Programme.organisation_id))
_COHORTS = by_ids(COHORT_COLUMNS, scoped=col(CohortTable.organisation_id))
_COMPETENCIES = (
    sa.select(col(Competency.programme_id).label("group_id"), *COMPETENCY_COLUMNS)
    .where(col(Competency.programme_id).in_(_IDS), col(Competency.organisation_id) == _ORG)
    .order_by(col(Competency.position), col(Competency.id))
)
_TRAINERS = (
    sa.select(col(CohortTrainer.cohort_id).label("group_id"), *USER_COLUMNS)
    .join(User, col(User.id) == CohortTrainer.user_id)
    .where(col(CohortTrainer.cohort_id).in_(_IDS), col(User.organisation_id) == _ORG)
    .order_by(col(User.display_name), col(User.id))
)


class TrainingLoaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.programme: DataLoader[uuid.UUID, Row | None] = DataLoader(rows_by_id(ctx, _PROGRAMMES))
        self.cohort: DataLoader[uuid.UUID, Row | None] = DataLoader(rows_by_id(ctx, _COHORTS))
        self.competencies: DataLoader[uuid.UUID, list[Row]] = DataLoader(
            grouped(ctx, _COMPETENCIES)
        )
        self.trainers: DataLoader[uuid.UUID, list[Row]] = DataLoader(grouped(ctx, _TRAINERS))
        self.progress: DataLoader[uuid.UUID, Progress | None] = DataLoader(self._progress)
        self.stats: DataLoader[uuid.UUID, CohortStats] = DataLoader(self._stats)
        self.programme_progress: DataLoader[uuid.UUID, ProgrammeProgress | None] = DataLoader(
            self._programme_progress
        )

    async def _progress(self, ids: list[uuid.UUID]) -> list[Progress | None]:
        """Of enrolments the caller was shown (their ids come from a scoped read)."""
        async with self._ctx.db() as session:
            found = await progress_of(session, ids)
        return [found.get(i) for i in ids]

    async def _stats(self, ids: list[uuid.UUID]) -> list[CohortStats]:
        """Over the enrolments the caller sees (a trainee: their own)."""
        visible = access.enrolments_visible(self._ctx.require_actor())
        async with self._ctx.db() as session:
            found = await cohort_stats(session, ids, visible)
        return [found[i] for i in ids]

    async def _programme_progress(self, ids: list[uuid.UUID]) -> list[ProgrammeProgress | None]:
        async with self._ctx.db() as session:
            found = await programme_progress(session, ids)
        return [found.get(i) for i in ids]


Fetch = Callable[[AsyncSession, Actor, uuid.UUID], Awaitable[Row | None]]


async def visible_row(
    ctx: Context, raw_id: str, fetch: Fetch, loader: DataLoader[uuid.UUID, Row | None]
) -> Row | None:
    """The row ``fetch`` finds for the caller (None for a malformed id or one they cannot
    see), primed into ``loader`` for the fields that reach it again."""
    try:
        found = uuid.UUID(str(raw_id))
    except ValueError:
        return None
    async with ctx.db() as session:
        row = await fetch(session, ctx.require_actor(), found)
    if row is not None:
        loader.prime(row.id, row)
    return row
