"""The demo organisation's training (``doorstep seed-demo``), so that CohortProgress and
ProgrammeProgress show real figures in GraphiQL: a programme with six competencies, a
cohort half way through, trained by the demo trainer, with the demo organiser and seven
more trainees enrolled (one withdrawn), weekly sessions (six past, one of them cancelled,
three coming, with their reminders), attendance of the held ones, and some sign-offs.

Rows are inserted directly, as the domain stores them. Idempotent: nothing is added when
the organisation already has the programme. The figures are fixed (a seeded random), the
dates relative to today.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.core.enums import Role
from server.core.models import utcnow
from server.training.enums import AttendanceStatus, EnrolmentStatus
from server.training.models import (
    AttendanceMark,
    Cohort,
    CohortTrainer,
    Competency,
    Enrolment,
    Programme,
    SignOff,
    TrainingSession,
)
from server.training.session_reminders import schedule_session_reminders

DEMO_PROGRAMME = "Community Organisers (demo)"
DEMO_COHORT = "Riverside cohort 1"
COMPETENCIES = (
    ("LISTEN", "Listening one to one"),
    ("DOOR", "Knocking on doors"),
    ("MAP", "Mapping power in the neighbourhood"),
    ("MEET", "Running a house meeting"),
    ("ACT", "Planning an action with residents"),
    ("REFLECT", "Reflective practice"),
)
TRAINEES = ("Priya Patel", "Kwame Mensah", "Sofia Rossi", "Liam Byrne", "Mei Chen",
            "Yusuf Ali", "Hannah Scott")  # fmt: skip
WEEKS_DONE, WEEKS_LEFT = 6, 6
SESSION_TITLES = ("Why we organise", "Listening well", "Door knocking in pairs", "Power mapping",
                  "House meetings", "From issues to action", "Holding a public meeting",
                  "Working with the council", "Celebrating")  # fmt: skip


def _evening(day: datetime) -> datetime:
    """18:30 UTC on that day."""
    return datetime.combine(day.date(), time(18, 30), tzinfo=day.tzinfo)


async def _trainees(session: AsyncSession, organisation_id: uuid.UUID) -> list[User]:
    """The demo organiser and the seven demo trainees (made here; they have no password)."""
    organiser = await session.scalar(
        sa.select(User).where(
            col(User.organisation_id) == organisation_id,
            col(User.email) == "organiser@demo.doorstep.local",
        )
    )
    assert organiser is not None, "the demo people come first"
    people = [organiser]
    for name in TRAINEES:
        user = User(
            organisation_id=organisation_id,
            email=f"{name.split()[0].lower()}@demo.doorstep.local",
            display_name=name,
            role=Role.ORGANISER,
        )
        session.add(user)
        people.append(user)
    await session.flush()
    return people


async def seed_demo_training(session: AsyncSession, organisation_id: uuid.UUID) -> uuid.UUID:
    """The demo cohort's id, creating the programme (and everything in it) unless it
    exists. Adds to the session and flushes; the caller commits."""
    existing = await session.scalar(
        sa.select(col(Cohort.id))
        .join(Programme, col(Programme.id) == col(Cohort.programme_id))
        .where(
            col(Programme.organisation_id) == organisation_id,
            col(Programme.name) == DEMO_PROGRAMME,
        )
    )
    if existing is not None:
        return existing
    trainer = await session.scalar(
        sa.select(User).where(
            col(User.organisation_id) == organisation_id,
            col(User.email) == "trainer@demo.doorstep.local",
        )
    )
    assert trainer is not None, "the demo people come first"
    now = utcnow()
    starts = now - timedelta(weeks=WEEKS_DONE, days=1)
    org: dict[str, Any] = {"organisation_id": organisation_id}
    programme = Programme(
        **org,
        name=DEMO_PROGRAMME,
        target_trainees=40,
        target_date=(now + timedelta(weeks=40)).date(),
        target_conversations_per_trainee=20,
        created_by_id=trainer.id,
    )
    session.add(programme)
    await session.flush()
    competencies = [
        Competency(**org, programme_id=programme.id, position=i, code=code, title=title)
        for i, (code, title) in enumerate(COMPETENCIES)
    ]
    cohort = Cohort(
        **org,
        programme_id=programme.id,
        name=DEMO_COHORT,
        starts_on=starts.date(),
        ends_on=(now + timedelta(weeks=WEEKS_LEFT)).date(),
        created_by_id=trainer.id,
    )
    session.add_all([*competencies, cohort])
    await session.flush()
    session.add(CohortTrainer(cohort_id=cohort.id, user_id=trainer.id, **org))
    people = await _trainees(session, organisation_id)
    enrolments = [
        Enrolment(**org, cohort_id=cohort.id, trainee_id=u.id, enrolled_by_id=trainer.id)
        for u in people
    ]
    withdrawn = enrolments[-1]
    withdrawn.status, withdrawn.status_at = EnrolmentStatus.WITHDRAWN, now - timedelta(weeks=2)
    withdrawn.status_reason = "Moved away for work."
    session.add_all(enrolments)

    sessions = []
    for week, title in enumerate(SESSION_TITLES):
        begins = _evening(starts + timedelta(weeks=week, days=3))
        sessions.append(
            TrainingSession(
                **org,
                cohort_id=cohort.id,
                title=title,
                starts_at=begins,
                ends_at=begins + timedelta(hours=2),
                location="Mill Lane Community Centre",
                cancelled_at=now - timedelta(weeks=3) if week == 3 else None,
                created_by_id=trainer.id,
            )
        )
    session.add_all(sessions)
    await session.flush()

    rng = random.Random(10)
    for training in sessions:
        if training.cancelled_at is not None or training.ends_at > now:
            continue
        for n, enrolment in enumerate(enrolments):
            if enrolment is withdrawn and training.starts_at > withdrawn.status_at:
                continue
            # The demo organiser rarely misses one; two trainees often do.
            miss = 0.1 if n == 0 else (0.45 if n in (3, 5) else 0.15)
            status = AttendanceStatus.PRESENT
            if rng.random() < miss:
                status = rng.choice([AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED])
            session.add(
                AttendanceMark(
                    **org,
                    session_id=training.id,
                    enrolment_id=enrolment.id,
                    status=status,
                    recorded_at=training.ends_at,
                    recorded_by_id=trainer.id,
                )
            )
    for n, enrolment in enumerate(enrolments[:-1]):
        for competency in competencies[: max(0, 4 - n % 4)]:
            session.add(
                SignOff(
                    **org,
                    enrolment_id=enrolment.id,
                    competency_id=competency.id,
                    signed_by_id=trainer.id,
                    evidence=f"Observed: {competency.title.lower()}.",
                    signed_at=now - timedelta(days=rng.randrange(1, 30)),
                )
            )
    for training in sessions:
        if training.cancelled_at is None and training.starts_at > now:
            await schedule_session_reminders(session, training)
    await session.flush()
    return cohort.id
