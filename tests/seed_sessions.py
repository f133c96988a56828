"""Rows the training session tests start from: a programme, a cohort with its trainer and
trainees, written straight to the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from server.accounts.models import User
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.training.enums import EnrolmentStatus
from server.training.models import (
    Cohort,
    CohortTrainer,
    Competency,
    Enrolment,
    Programme,
    TrainingSession,
)
from tests.conftest import Org


@dataclass
class Seeded:
    programme: Programme
    cohort: Cohort
    trainer: User
    trainees: list[User]
    enrolments: list[Enrolment]


async def cohort(
    services: Services,
    org: Org,
    *,
    trainees: int = 2,
    trainer: User | None = None,
    name: str = "Spring cohort",
    programme_name: str | None = None,
    starts_on: date | None = None,
    days: int = 60,
    competencies: int = 0,
    conversations: int | None = None,
) -> Seeded:
    """A cohort trained by ``trainer`` (the org's TRAINER by default) with the org's
    ORGANISER and ``trainees - 1`` new organisers enrolled, all ACTIVE."""
    trainer = trainer or org.members[Role.TRAINER]
    starts_on = starts_on or (utcnow() - timedelta(days=7)).date()
    async with services.db.session() as session:
        programme = Programme(
            organisation_id=org.organisation.id,
            name=programme_name or f"{name} programme",
            target_trainees=100,
            target_date=starts_on + timedelta(days=365),
            target_conversations_per_trainee=conversations,
        )
        session.add(programme)
        await session.flush()
        session.add_all(
            Competency(
                organisation_id=org.organisation.id,
                programme_id=programme.id,
                position=i,
                code=f"C{i}",
                title=f"Competency {i}",
            )
            for i in range(competencies)
        )
        row = Cohort(
            organisation_id=org.organisation.id,
            programme_id=programme.id,
            name=name,
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=days),
        )
        session.add(row)
        await session.flush()
        session.add(
            CohortTrainer(cohort_id=row.id, user_id=trainer.id, organisation_id=org.organisation.id)
        )
        people = [org.members[Role.ORGANISER]]
        for i in range(trainees - 1):
            user = User(
                organisation_id=org.organisation.id,
                email=f"trainee{i}-{uuid.uuid4().hex[:6]}@{org.organisation.id}.test",
                display_name=f"Trainee {i:03}",
                role=Role.ORGANISER,
            )
            session.add(user)
            people.append(user)
        await session.flush()
        enrolments = [
            Enrolment(organisation_id=org.organisation.id, cohort_id=row.id, trainee_id=u.id)
            for u in people[:trainees]
        ]
        session.add_all(enrolments)
        await session.commit()
    return Seeded(programme, row, trainer, people[:trainees], enrolments)


async def training_session(
    services: Services,
    seeded: Seeded,
    starts_at: datetime,
    *,
    hours: int = 2,
    cancelled: bool = False,
    title: str = "Listening well",
) -> TrainingSession:
    async with services.db.session() as session:
        row = TrainingSession(
            organisation_id=seeded.cohort.organisation_id,
            cohort_id=seeded.cohort.id,
            title=title,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            cancelled_at=utcnow() if cancelled else None,
        )
        session.add(row)
        await session.commit()
    return row


async def set_status(services: Services, enrolment: Enrolment, status: EnrolmentStatus) -> None:
    async with services.db.session() as session:
        row = await session.get(Enrolment, enrolment.id)
        assert row is not None
        row.status = status
        await session.commit()
