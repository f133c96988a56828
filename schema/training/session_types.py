"""GraphQL types of training sessions and their register, built by ``Type.of(row)`` from
a TrainingSession or a row of ``SESSION_COLUMNS`` (docs/decisions/0009)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from schema.context import Info
from schema.training.enrolment_stub import EnrolmentType
from schema.training.enums import AttendanceStatus
from schema.training.session_loaders import TrainingSessionLoaders
from server.core.enums import Role


@strawberry.type(name="Attendance")
class AttendanceType:
    """An enrolment's latest mark at one session."""

    enrolment: EnrolmentType
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
        ctx = info.context
        actor = ctx.require_actor()
        loaders = ctx.loaders(TrainingSessionLoaders)
        rows = await loaders.attendance.load(self._id)
        if actor.role is not Role.ADMIN and not await loaders.trains.load(self._cohort_id):
            rows = [r for r in rows if r.trainee_id == actor.user_id]
        return [
            AttendanceType(
                enrolment=EnrolmentType.of(_Ref(r.enrolment_id)),
                status=r.status,
                recorded_at=r.recorded_at,
            )
            for r in rows
        ]


class _Ref:
    def __init__(self, id: uuid.UUID) -> None:
        self.id = id
