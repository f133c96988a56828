"""Loaders of training sessions: each session's register, and which cohorts the caller
trains; one statement per batch, built once (docs/decisions/0009)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col
from strawberry.dataloader import DataLoader

from schema.campaigns.loaders import grouped
from server.training.columns import ENROLMENT_COLUMNS
from server.training.models import AttendanceMark, CohortTrainer, Enrolment

if TYPE_CHECKING:
    from schema.context import Context

Row = sa.Row[Any]

_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)

# The mark, and its enrolment's columns (so Attendance.enrolment needs no other load).
_ATTENDANCE_COLUMNS: tuple[Any, ...] = (
    col(AttendanceMark.session_id).label("group_id"),
    col(AttendanceMark.status).label("mark"),
    col(AttendanceMark.recorded_at),
    *ENROLMENT_COLUMNS,
)
_ATTENDANCE = (
    sa.select(*_ATTENDANCE_COLUMNS)
    .join(Enrolment, col(Enrolment.id) == col(AttendanceMark.enrolment_id))
    .where(
        col(AttendanceMark.session_id).in_(_IDS),
        col(AttendanceMark.organisation_id) == sa.bindparam("organisation_id"),
    )
    .order_by(col(AttendanceMark.enrolment_id))
)
_TRAINS = sa.select(col(CohortTrainer.cohort_id)).where(
    col(CohortTrainer.cohort_id).in_(_IDS), col(CohortTrainer.user_id) == sa.bindparam("user_id")
)


class TrainingSessionLoaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.attendance: DataLoader[uuid.UUID, list[Row]] = DataLoader(grouped(ctx, _ATTENDANCE))
        self.trains: DataLoader[uuid.UUID, bool] = DataLoader(self._trains)

    async def _trains(self, ids: list[uuid.UUID]) -> list[bool]:
        params = {"ids": ids, "user_id": self._ctx.require_actor().user_id}
        async with self._ctx.db() as session:
            found = set((await session.scalars(_TRAINS, params)).all())
        return [i in found for i in ids]
