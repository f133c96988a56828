"""GraphQL types of training sessions and their register, built by ``Type.of(row)`` from
a TrainingSession or a row of ``SESSION_COLUMNS`` (docs/decisions/0009)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from schema.context import Info
from schema.training.enums import AttendanceStatus
from schema.training.session_loaders import TrainingSessionLoaders
from server.core.enums import Role

if TYPE_CHECKING:
    from schema.training.types import EnrolmentType


@strawberry.type(name="Attendance")
class AttendanceType:
    """An enrolment's latest mark at one session."""

    # Lazy: schema/training/types.py's Cohort type imports this module.
    enrolment: Annotated[EnrolmentType, strawberry.lazy("schema.training.types")]
    status: AttendanceStatus
    recorded_at: datetime


@strawberry.type(name="TrainingSession")
class TrainingSessionType:
    id: strawberry.ID
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str | None
    online_url: str | None
    cancelled_at: datetime | None = strawberry.field(
        description="Set when the session was cancelled; a cancelled session counts for nobody."
    )
    _id: strawberry.Private[uuid.UUID]
    _cohort_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Any) -> TrainingSessionType:
        return cls(
            id=strawberry.ID(str(row.id)),
            title=row.title,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            location=row.location,
            online_url=row.online_url,
            cancelled_at=row.cancelled_at,
            _id=row.id,
            _cohort_id=row.cohort_id,
        )

    @strawberry.field(
        description="The register: each enrolment's latest mark. The cohort's trainers and "
        "admins see every mark, a trainee their own."
    )
    async def attendance(self, info: Info) -> list[AttendanceType]:
        from schema.training.types import EnrolmentType

        ctx = info.context
        actor = ctx.require_actor()
        loaders = ctx.loaders(TrainingSessionLoaders)
        rows = await loaders.attendance.load(self._id)
        if actor.role is not Role.ADMIN and not await loaders.trains.load(self._cohort_id):
            rows = [r for r in rows if r.trainee_id == actor.user_id]
        return [
            AttendanceType(enrolment=EnrolmentType.of(r), status=r.mark, recorded_at=r.recorded_at)
            for r in rows
        ]
