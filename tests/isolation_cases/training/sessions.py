"""Isolation cases of the training domain: sessions and attendance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.core.enums import Role
from server.core.models import utcnow
from server.training.models import AttendanceMark, TrainingSession
from tests import seed_sessions as seed
from tests.isolation_cases import World


@dataclass
class Theirs:
    cohort: seed.Seeded
    training: TrainingSession


def _at(days: float) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(UTC).isoformat()


async def _theirs(w: World) -> Theirs:
    """A cohort of Theirs (their organiser enrolled) with a session held yesterday, all
    secrets to Ours."""
    # Named as the other cases' set-up names Theirs' training: they run in one world too.
    cohort = await seed.cohort(
        w.services, w.theirs, trainees=1, name="Theirs Cohort", programme_name="Theirs Programme"
    )
    training = await seed.training_session(
        w.services, cohort, utcnow() - timedelta(days=1), title="Theirs session"
    )
    w.secrets |= {str(cohort.cohort.id), str(training.id), "Theirs session"}
    w.secrets |= {str(e.id) for e in cohort.enrolments}
    return Theirs(cohort, training)


async def _unchanged(w: World, theirs: Theirs) -> None:
    async with w.services.db.session() as session:
        training = await session.get(TrainingSession, theirs.training.id)
        marks = await session.scalar(
            sa.select(sa.func.count()).where(
                col(AttendanceMark.organisation_id) == w.theirs.organisation.id
            )
        )
    assert training is not None and training.cancelled_at is None
    assert training.starts_at == theirs.training.starts_at
    assert marks == 0


def _not_found(payload: dict[str, Any], field: str) -> None:
    assert payload["trainingSession"] is None, payload
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, "NOT_FOUND")]


async def schedule_training_session(w: World) -> None:
    theirs = await _theirs(w)
    for role in Role:
        data = await w.data(
            "ScheduleTrainingSession",
            {"input": {"cohortId": str(theirs.cohort.cohort.id), "title": "Sneaky",
                       "startsAt": _at(1), "endsAt": _at(1.1)}},
            role=role,
        )  # fmt: skip
        _not_found(data["scheduleTrainingSession"], "input.cohortId")
    async with w.services.db.session() as session:
        sneaky = await session.scalar(
            sa.select(sa.func.count()).where(col(TrainingSession.title) == "Sneaky")
        )
    assert sneaky == 0
    await _unchanged(w, theirs)


async def _change(w: World, op: str, **variables: Any) -> None:
    theirs = await _theirs(w)
    for role in Role:
        data = await w.data(op, {"id": str(theirs.training.id), **variables}, role=role)
        _not_found(next(iter(data.values())), "id")
    await _unchanged(w, theirs)


async def move_training_session(w: World) -> None:
    await _change(w, "MoveTrainingSession", startsAt=_at(2), endsAt=_at(2.1))


async def cancel_training_session(w: World) -> None:
    await _change(w, "CancelTrainingSession")


async def record_attendance(w: World) -> None:
    theirs = await _theirs(w)
    their_marks = [{"enrolmentId": str(e.id), "status": "ABSENT"} for e in theirs.cohort.enrolments]
    # Their session, as if it were Ours.
    for role in Role:
        data = await w.data(
            "RecordAttendance",
            {"input": {"trainingSessionId": str(theirs.training.id), "marks": their_marks}},
            role=role,
        )
        _not_found(data["recordAttendance"], "input.trainingSessionId")
    # Their trainees, marked in a session of Ours: not in Ours' cohort.
    ours = await seed.cohort(w.services, w.ours, trainees=1)
    held = await seed.training_session(w.services, ours, utcnow() - timedelta(days=1))
    data = await w.data(
        "RecordAttendance",
        {"input": {"trainingSessionId": str(held.id), "marks": their_marks}},
        role=Role.TRAINER,
    )
    payload = data["recordAttendance"]
    assert payload["trainingSession"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("input.marks.0.enrolmentId", "NOT_FOUND")
    ]
    await _unchanged(w, theirs)


CASES: dict[str, Any] = {
    "scheduleTrainingSession": schedule_training_session,
    "moveTrainingSession": move_training_session,
    "cancelTrainingSession": cancel_training_session,
    "recordAttendance": record_attendance,
}
