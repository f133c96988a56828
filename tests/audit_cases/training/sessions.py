"""Audit cases of the training domain: sessions and attendance."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.training.models import AttendanceMark, TrainingSession
from tests import seed_sessions as seed
from tests.audit_cases import Expected, Run
from tests.conftest import GraphQLClient, Org


def _at(days: float) -> str:
    return (utcnow() + timedelta(days=days)).astimezone(UTC).isoformat()


async def schedule_training_session(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    spring = await seed.cohort(services, org, trainees=1)
    data = await gql.op(
        "ScheduleTrainingSession",
        {"input": {"cohortId": str(spring.cohort.id), "title": "Listening well",
                   "startsAt": _at(2), "endsAt": _at(2.1)}},
        token=org.token(Role.TRAINER),
    )  # fmt: skip
    payload = data["scheduleTrainingSession"]
    assert payload["userErrors"] == []
    return Expected(
        "training_session.schedule",
        "TrainingSession",
        payload["trainingSession"]["id"],
        org.members[Role.TRAINER].id,
    )


def _change(op: str, action: str, **variables: Any) -> Run:
    async def run(gql: GraphQLClient, org: Org, services: Services) -> Expected:
        spring = await seed.cohort(services, org, trainees=1)
        training = await seed.training_session(services, spring, utcnow() + timedelta(days=2))
        data = await gql.op(op, {"id": str(training.id), **variables}, token=org.token(Role.ADMIN))
        assert next(iter(data.values()))["userErrors"] == []
        return Expected(action, "TrainingSession", training.id, org.members[Role.ADMIN].id)

    return run


def _attendance(action: str, statuses: list[str]) -> Run:
    async def run(gql: GraphQLClient, org: Org, services: Services) -> Expected:
        spring = await seed.cohort(services, org, trainees=1)
        training = await seed.training_session(services, spring, utcnow() - timedelta(days=1))
        for status in statuses:
            marks = [{"enrolmentId": str(spring.enrolments[0].id), "status": status}]
            data = await gql.op(
                "RecordAttendance",
                {"input": {"trainingSessionId": str(training.id), "marks": marks}},
                token=org.token(Role.TRAINER),
            )
            assert data["recordAttendance"]["userErrors"] == []
        async with services.db.session() as session:
            mark_id: uuid.UUID | None = await session.scalar(
                sa.select(col(AttendanceMark.id)).where(
                    col(AttendanceMark.session_id) == training.id
                )
            )
            assert await session.get(TrainingSession, training.id) is not None
        return Expected(action, "AttendanceMark", mark_id, org.members[Role.TRAINER].id)

    return run


CASES: dict[str, Any] = {
    "scheduleTrainingSession": schedule_training_session,
    "moveTrainingSession": _change(
        "MoveTrainingSession", "training_session.move", startsAt=_at(3), endsAt=_at(3.1)
    ),
    "cancelTrainingSession": _change("CancelTrainingSession", "training_session.cancel"),
    "recordAttendance": _attendance("attendance.mark", ["PRESENT"]),
}
MORE_CASES: dict[str, Any] = {
    "recordAttendance(correction)": _attendance("attendance.correct", ["ABSENT", "PRESENT"]),
}
