"""Tables of the training domain: programmes and their competency frameworks, cohorts
and their trainers, enrolments, training sessions, attendance and sign-offs.

Every table carries ``organisation_id``, so each query scopes by it without a join.
Attendance keeps one row per session and enrolment, the latest mark; every mark and
correction is written to the audit log, which is the history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.core.enums import enum_column
from server.core.models import Table, utcnow
from server.training.enums import AttendanceStatus, EnrolmentStatus


class Programme(Table, table=True):
    __tablename__ = "programmes"

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    name: str = Field(max_length=200)
    target_trainees: int
    target_date: date
    # 0 or None: the programme sets no conversation target.
    target_conversations_per_trainee: int | None = None
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class Competency(Table, table=True):
    """One competency of a programme's framework, in ``position`` order."""

    __tablename__ = "competencies"

    __table_args__ = (
        sa.UniqueConstraint("programme_id", "code"),
        sa.Index("ix_competencies_programme_position", "programme_id", "position"),
    )

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    programme_id: uuid.UUID = Field(foreign_key="programmes.id", ondelete="CASCADE")
    position: int
    code: str = Field(max_length=50)
    title: str = Field(max_length=200)


class Cohort(Table, table=True):
    __tablename__ = "cohorts"

    __table_args__ = (sa.Index("ix_cohorts_programme_starts", "programme_id", "starts_on"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    programme_id: uuid.UUID = Field(foreign_key="programmes.id")
    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class CohortTrainer(SQLModel, table=True):
    """A member (TRAINER or SENIOR_ORGANISER) who trains a cohort."""

    __tablename__ = "cohort_trainers"

    cohort_id: uuid.UUID = Field(foreign_key="cohorts.id", primary_key=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, index=True)
    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Enrolment(Table, table=True):
    """A trainee in a cohort; ``status_at`` and ``status_reason`` say when and why the
    status last changed."""

    __tablename__ = "enrolments"

    __table_args__ = (
        sa.UniqueConstraint("cohort_id", "trainee_id"),
        sa.Index("ix_enrolments_cohort_status", "cohort_id", "status"),
    )

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    cohort_id: uuid.UUID = Field(foreign_key="cohorts.id")
    trainee_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    status: EnrolmentStatus = Field(
        default=EnrolmentStatus.ACTIVE, sa_type=enum_column(EnrolmentStatus)
    )
    status_at: datetime = Field(default_factory=utcnow)
    status_reason: str | None = Field(default=None, max_length=2000)
    enrolled_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class TrainingSession(Table, table=True):
    """A session of a cohort; cancelled (never deleted once attendance exists)."""

    __tablename__ = "training_sessions"

    __table_args__ = (sa.Index("ix_training_sessions_cohort_starts", "cohort_id", "starts_at"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    cohort_id: uuid.UUID = Field(foreign_key="cohorts.id")
    title: str = Field(max_length=200)
    starts_at: datetime
    ends_at: datetime
    location: str | None = Field(default=None, max_length=500)
    online_url: str | None = Field(default=None, max_length=2000)
    cancelled_at: datetime | None = None
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class AttendanceMark(Table, table=True):
    """The latest mark of one enrolment at one session; a correction updates it."""

    __tablename__ = "attendance_marks"

    __table_args__ = (sa.UniqueConstraint("session_id", "enrolment_id"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    session_id: uuid.UUID = Field(foreign_key="training_sessions.id")
    enrolment_id: uuid.UUID = Field(foreign_key="enrolments.id", index=True)
    status: AttendanceStatus = Field(sa_type=enum_column(AttendanceStatus))
    recorded_at: datetime = Field(default_factory=utcnow)
    recorded_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class SignOff(Table, table=True):
    """A competency signed off for an enrolment; the first sign-off stays."""

    __tablename__ = "sign_offs"

    __table_args__ = (sa.UniqueConstraint("enrolment_id", "competency_id"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    enrolment_id: uuid.UUID = Field(foreign_key="enrolments.id")
    competency_id: uuid.UUID = Field(foreign_key="competencies.id", index=True)
    signed_by_id: uuid.UUID = Field(foreign_key="users.id")
    evidence: str | None = Field(default=None, max_length=5000)
    signed_at: datetime = Field(default_factory=utcnow)


MODELS = (
    Programme,
    Competency,
    Cohort,
    CohortTrainer,
    Enrolment,
    TrainingSession,
    AttendanceMark,
    SignOff,
)
