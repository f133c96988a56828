"""Recording a session's attendance: a thin layer over server/training/attendance.py."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.ids import parse_id
from schema.mutation import attempt
from schema.permissions import IsAuthenticated
from schema.training.enums import AttendanceStatus
from schema.training.sessions import TrainingSessionPayload
from server.training import attendance
from server.training.attendance import MARKS_LIMIT


@strawberry.input
class AttendanceMarkInput:
    enrolment_id: strawberry.ID
    status: AttendanceStatus


@strawberry.input
class RecordAttendanceInput:
    training_session_id: strawberry.ID
    marks: list[AttendanceMarkInput] = strawberry.field(
        description=f"At most {MARKS_LIMIT} marks, each of an enrolment of the session's "
        "cohort; a mark for someone already marked corrects it (the latest counts)."
    )


@strawberry.type
class AttendanceMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A trainer of the cohort, or an admin, once the session has started. The "
        "batch applies whole or not at all: every mark at fault is a userError on its field.",
    )
    async def record_attendance(
        self, info: Info, input: RecordAttendanceInput
    ) -> TrainingSessionPayload:
        ctx = info.context
        actor = ctx.require_actor()
        marks = [attendance.MarkInput(str(m.enrolment_id), m.status) for m in input.marks]
        training, errors = await attempt(
            ctx,
            lambda s: attendance.record_attendance(
                s,
                actor,
                parse_id(input.training_session_id, "input.trainingSessionId", "training session"),
                marks,
            ),
        )
        return TrainingSessionPayload.of(training, errors)
