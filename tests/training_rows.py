"""Training set-ups shared by the training tests, isolation and audit cases: programmes
and cohorts made through the contract's operations, sessions and marks written straight
into the database (scheduling and attendance have their own tests)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import User
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.training.enums import AttendanceStatus
from server.training.models import (
    AttendanceMark,
    Cohort,
    CohortTrainer,
    Competency,
    Enrolment,
    Programme,
    TrainingSession,
)
from tests.conftest import GraphQLClient, Org


def today() -> date:
    return utcnow().date()


async def create_programme(
    gql: GraphQLClient,
    org: Org,
    *,
    competencies: int = 2,
    target: int | None = None,
    target_trainees: int = 10,
    target_date: date | None = None,
    name: str = "Organising 101",
) -> dict[str, Any]:
    data = await gql.op(
        "CreateProgramme",
        {
            "input": {
                "name": name,
                "targetTrainees": target_trainees,
                "targetDate": (target_date or today() + timedelta(days=100)).isoformat(),
                "targetConversationsPerTrainee": target,
                "competencies": [
                    {"code": f"C{i}", "title": f"Competency {i}"} for i in range(competencies)
                ],
            }
        },
        token=org.token(Role.ADMIN),
    )
    payload = data["createProgramme"]
    assert payload["userErrors"] == [], payload
    programme: dict[str, Any] = payload["programme"]
    return programme


async def create_cohort(
    gql: GraphQLClient,
    org: Org,
    programme_id: str,
    *,
    starts_on: date | None = None,
    ends_on: date | None = None,
    trainer_ids: Sequence[uuid.UUID] | None = None,
    name: str = "Spring cohort",
) -> str:
    starts = starts_on or today() - timedelta(days=5)
    trainers = [org.members[Role.TRAINER].id] if trainer_ids is None else trainer_ids
    data = await gql.op(
        "CreateCohort",
        {
            "input": {
                "programmeId": programme_id,
                "name": name,
                "startsOn": starts.isoformat(),
                "endsOn": (ends_on or starts + timedelta(days=10)).isoformat(),
                "trainerIds": [str(t) for t in trainers],
            }
        },
        token=org.token(Role.ADMIN),
    )
    payload = data["createCohort"]
    assert payload["userErrors"] == [], payload
    cohort_id: str = payload["cohort"]["id"]
    return cohort_id


async def enrol(
    gql: GraphQLClient, org: Org, cohort_id: str, user_id: uuid.UUID, role: Role = Role.TRAINER
) -> str:
    data = await gql.op(
        "EnrolTrainee",
        {"input": {"cohortId": cohort_id, "userId": str(user_id)}},
        token=org.token(role),
    )
    payload = data["enrolTrainee"]
    assert payload["userErrors"] == [], payload
    enrolment_id: str = payload["enrolment"]["id"]
    return enrolment_id


async def add_members(
    services: Services, org: Org, n: int, role: Role = Role.ORGANISER, prefix: str = "trainee"
) -> list[uuid.UUID]:
    users = [
        User(
            organisation_id=org.organisation.id,
            email=f"{prefix}{i}@{org.organisation.id}.test",
            display_name=f"{prefix.title()} {i:03}",
            role=role,
        )
        for i in range(n)
    ]
    async with services.db.session() as session:
        session.add_all(users)
        await session.commit()
    return [u.id for u in users]


async def enrol_many(
    services: Services, org: Org, cohort_id: str, user_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    rows = [
        Enrolment(organisation_id=org.organisation.id, cohort_id=uuid.UUID(cohort_id), trainee_id=u)
        for u in user_ids
    ]
    async with services.db.session() as session:
        session.add_all(rows)
        await session.commit()
    return [r.id for r in rows]


async def add_sessions(
    services: Services,
    org: Org,
    cohort_id: str,
    starts: Sequence[datetime],
    *,
    cancelled: bool = False,
) -> list[uuid.UUID]:
    rows = [
        TrainingSession(
            organisation_id=org.organisation.id,
            cohort_id=uuid.UUID(cohort_id),
            title=f"Session {i}",
            starts_at=at,
            ends_at=at + timedelta(hours=2),
            cancelled_at=utcnow() if cancelled else None,
        )
        for i, at in enumerate(starts)
    ]
    async with services.db.session() as session:
        session.add_all(rows)
        await session.commit()
    return [r.id for r in rows]


async def mark(
    services: Services,
    org: Org,
    session_id: uuid.UUID,
    enrolment_id: str | uuid.UUID,
    status: AttendanceStatus,
) -> None:
    """The latest mark of that enrolment at that session (a second call corrects it)."""
    enrolment = uuid.UUID(str(enrolment_id))
    async with services.db.session() as session:
        found = await session.scalar(
            sa.select(AttendanceMark).where(
                col(AttendanceMark.session_id) == session_id,
                col(AttendanceMark.enrolment_id) == enrolment,
            )
        )
        if found is None:
            session.add(
                AttendanceMark(
                    organisation_id=org.organisation.id,
                    session_id=session_id,
                    enrolment_id=enrolment,
                    status=status,
                )
            )
        else:
            found.status = status
        await session.commit()


def past(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


PROGRESS = """
query ($id: ID!) {
  cohort(id: $id) {
    id
    stats { traineeCount activeCount completedCount withdrawnCount onTrackCount behindCount }
    enrolments(first: 100) {
      totalCount
      edges {
        node {
          id
          status
          trainee { id displayName }
          progress {
            sessionsHeld sessionsAttended attendanceRate competenciesSigned competenciesTotal
            conversationsLogged targetConversations expectedConversations onTrack behindReasons
          }
        }
      }
    }
  }
}
"""


async def progress(
    gql: GraphQLClient, org: Org, cohort_id: str, role: Role = Role.TRAINER
) -> dict[str, Any]:
    """The cohort as ``role`` sees it, with each enrolment's progress by enrolment id."""
    data = await gql(PROGRESS, {"id": cohort_id}, token=org.token(role))
    cohort: dict[str, Any] = data["cohort"]
    if cohort is not None:
        cohort["by_id"] = {e["node"]["id"]: e["node"] for e in cohort["enrolments"]["edges"]}
    return cohort


@dataclass(frozen=True)
class Training:
    programme_id: uuid.UUID
    competency_id: uuid.UUID
    cohort_id: uuid.UUID
    enrolment_id: uuid.UUID


async def add_training(services: Services, org: Org, prefix: str) -> Training:
    """Straight into the database (no audit entry): a programme with one competency, a
    cohort trained by the org's trainer, and its organiser enrolled."""
    organisation_id = org.organisation.id
    async with services.db.session() as session:
        programme = Programme(
            organisation_id=organisation_id,
            name=f"{prefix} Programme",
            target_trainees=10,
            target_date=today() + timedelta(days=100),
            target_conversations_per_trainee=3,
        )
        session.add(programme)
        await session.flush()
        competency = Competency(
            organisation_id=organisation_id,
            programme_id=programme.id,
            position=0,
            code=f"{prefix}-C",
            title=f"{prefix} Competency",
        )
        cohort = Cohort(
            organisation_id=organisation_id,
            programme_id=programme.id,
            name=f"{prefix} Cohort",
            starts_on=today() - timedelta(days=5),
            ends_on=today() + timedelta(days=5),
        )
        session.add_all([competency, cohort])
        await session.flush()
        session.add(
            CohortTrainer(
                cohort_id=cohort.id,
                user_id=org.members[Role.TRAINER].id,
                organisation_id=organisation_id,
            )
        )
        enrolment = Enrolment(
            organisation_id=organisation_id,
            cohort_id=cohort.id,
            trainee_id=org.members[Role.ORGANISER].id,
        )
        session.add(enrolment)
        await session.commit()
    return Training(programme.id, competency.id, cohort.id, enrolment.id)
