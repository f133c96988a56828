"""Progress of trainees, in a few statements for any number of them.

Per enrolment (``progress_of``): sessions held so far (not cancelled, already ended),
sessions attended (PRESENT at a held session: the latest mark counts), competencies
signed of the programme's total, and listening conversations the trainee logged in
ACTIVE or CLOSED campaigns since the cohort started (UTC days), against the programme's
per-trainee target. One statement, whatever the number of enrolments.

The rules (README, "Training"):
- attendance is met when no session has been held yet, or when the trainee attended at
  least 75% of the sessions held (``attended * 4 >= held * 3``);
- conversations are on track when the programme sets no target (0 or null), or the
  trainee logged at least ``floor(target * elapsed / length)``, where ``elapsed`` is the
  number of days since the cohort started (0 before it, ``length`` after it ended) and
  ``length`` the cohort's days from start to end (a one-day cohort is wholly elapsed on
  its day);
- an ACTIVE trainee is on track when both hold; COMPLETED is on track, WITHDRAWN never;
- an ACTIVE trainee completes when every competency is signed, attendance is met and the
  full conversation target is met.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.campaigns.enums import CampaignKind, CampaignStatus
from server.campaigns.models import Campaign, Conversation
from server.core.models import utcnow
from server.training.enums import AttendanceStatus, EnrolmentStatus
from server.training.models import (
    AttendanceMark,
    Cohort,
    Competency,
    Enrolment,
    Programme,
    SignOff,
    TrainingSession,
)

ATTENDANCE_SHARE = (3, 4)  # at least 3 of every 4 sessions held


@dataclass(slots=True)
class Progress:
    enrolment_id: uuid.UUID
    cohort_id: uuid.UUID
    trainee_id: uuid.UUID
    status: EnrolmentStatus
    sessions_held: int
    sessions_attended: int
    competencies_signed: int
    competencies_total: int
    conversations_logged: int
    # The programme's per-trainee target; None when it sets none (0 or null).
    target_conversations: int | None
    # What the trainee should have logged by today (the target at the elapsed share).
    expected_conversations: int
    # The rule's verdicts, computed by the statement (``on_track_rule``).
    attendance_met: bool
    conversations_on_track: bool
    on_track: bool
    programme_name: str
    cohort_name: str

    @property
    def attendance_rate(self) -> float | None:
        """Attended of held, 0..1; None while no session has been held."""
        return self.sessions_attended / self.sessions_held if self.sessions_held else None

    @property
    def behind_reasons(self) -> list[str]:
        """Why an ACTIVE trainee is behind: "attendance", "conversations" (or nothing)."""
        if self.status != EnrolmentStatus.ACTIVE:
            return []
        reasons = [] if self.attendance_met else ["attendance"]
        return reasons if self.conversations_on_track else [*reasons, "conversations"]

    @property
    def done(self) -> bool:
        """Every condition of completion holds (for an ACTIVE enrolment)."""
        return (
            self.status == EnrolmentStatus.ACTIVE
            and self.competencies_signed >= self.competencies_total
            and self.attendance_met
            and self.conversations_logged >= (self.target_conversations or 0)
        )


def _days(later: Any, earlier: Any, dialect: str) -> sa.ColumnElement[int]:
    """Whole days from ``earlier`` to ``later`` (dates)."""
    if dialect == "postgresql":
        return sa.type_coerce(later - earlier, sa.Integer)
    # SQLite keeps dates as ISO text.
    return sa.cast(sa.func.julianday(later) - sa.func.julianday(earlier), sa.Integer)


def expected_conversations(
    target: Any, starts_on: Any, ends_on: Any, today: Any, dialect: str
) -> sa.ColumnElement[int]:
    """The target at the share of the cohort's days elapsed by ``today``, rounded down:
    0 without a target (0 or null); ``elapsed`` is 0 before the start and ``length``
    after the end; a cohort of no length is wholly elapsed from its day on."""
    length = _days(ends_on, starts_on, dialect)
    elapsed = sa.case(
        (today <= starts_on, 0), (today >= ends_on, length), else_=_days(today, starts_on, dialect)
    )
    return sa.case(
        (sa.func.coalesce(target, 0) == 0, 0),
        (length <= 0, sa.case((today >= starts_on, target), else_=0)),
        else_=target * elapsed // length,
    )


@dataclass(frozen=True)
class Verdicts:
    attendance_met: sa.ColumnElement[bool]
    conversations_on_track: sa.ColumnElement[bool]
    on_track: sa.ColumnElement[bool]


def on_track_rule(figures: Any) -> Verdicts:
    """The on-track rule over a row of ``status``, ``held``, ``attended``, ``logged`` and
    ``expected`` (a subquery's columns): the one definition, for a trainee's progress and
    a cohort's counts alike."""
    need, of = ATTENDANCE_SHARE
    attendance = figures.attended * of >= figures.held * need
    conversations = figures.logged >= figures.expected
    return Verdicts(
        attendance_met=attendance,
        conversations_on_track=conversations,
        on_track=sa.or_(
            figures.status == EnrolmentStatus.COMPLETED,
            sa.and_(figures.status == EnrolmentStatus.ACTIVE, attendance, conversations),
        ),
    )


def _held() -> list[sa.ColumnElement[bool]]:
    return [
        col(TrainingSession.cancelled_at).is_(None),
        col(TrainingSession.ends_at) <= sa.bindparam("now"),
    ]


def _since_cohort_start(dialect: str) -> sa.ColumnElement[bool]:
    """The conversation occurred on or after the cohort's first day (UTC)."""
    occurred: Any = col(Conversation.occurred_at)
    if dialect == "postgresql":
        occurred = sa.func.timezone(sa.literal_column("'UTC'"), occurred)
    # SQLite keeps UTC text ("2026-12-04 09:30:00"), which sorts after its date's text.
    return occurred >= col(Cohort.starts_on)


def figures(dialect: str) -> sa.Select[Any]:
    """Every enrolment's figures (one row each; add a ``where``). Read it as a subquery:
    PostgreSQL then computes only the columns the outer statement uses."""
    count = sa.func.count()
    held = (
        sa.select(count)
        .where(col(TrainingSession.cohort_id) == col(Enrolment.cohort_id), *_held())
        .scalar_subquery()
    )
    attended = (
        sa.select(count)
        .select_from(AttendanceMark)
        .join(TrainingSession, col(TrainingSession.id) == col(AttendanceMark.session_id))
        .where(
            col(AttendanceMark.enrolment_id) == col(Enrolment.id),
            # Redundant (a mark's session is of its enrolment's cohort), but it lets the
            # planner reach the sessions by their cohort index instead of scanning them.
            col(TrainingSession.cohort_id) == col(Enrolment.cohort_id),
            col(AttendanceMark.status) == AttendanceStatus.PRESENT,
            *_held(),
        )
        .scalar_subquery()
    )
    signed = (
        sa.select(count).where(col(SignOff.enrolment_id) == col(Enrolment.id)).scalar_subquery()
    )
    total = (
        sa.select(count)
        .where(col(Competency.programme_id) == col(Cohort.programme_id))
        .scalar_subquery()
    )
    logged = (
        sa.select(count)
        .select_from(Conversation)
        .join(Campaign, col(Campaign.id) == col(Conversation.campaign_id))
        .where(
            col(Conversation.organiser_id) == col(Enrolment.trainee_id),
            col(Conversation.organisation_id) == col(Enrolment.organisation_id),
            col(Campaign.kind) == CampaignKind.LISTENING,
            col(Campaign.status).in_([CampaignStatus.ACTIVE, CampaignStatus.CLOSED]),
            _since_cohort_start(dialect),
        )
        .scalar_subquery()
    )
    target = col(Programme.target_conversations_per_trainee)
    today = sa.bindparam("today", type_=sa.Date)
    expected = expected_conversations(
        target, col(Cohort.starts_on), col(Cohort.ends_on), today, dialect
    )
    return (
        sa.select(
            col(Enrolment.id),
            col(Enrolment.cohort_id),
            col(Enrolment.trainee_id),
            col(Enrolment.status),
            col(Cohort.name).label("cohort_name"),
            col(Programme.name).label("programme_name"),
            target.label("target"),
            held.label("held"),
            attended.label("attended"),
            signed.label("signed"),
            total.label("total"),
            logged.label("logged"),
            expected.label("expected"),
        )
        .join(Cohort, col(Cohort.id) == col(Enrolment.cohort_id))
        .join(Programme, col(Programme.id) == col(Cohort.programme_id))
    )


_FIGURES = {dialect: figures(dialect) for dialect in ("postgresql", "sqlite")}


def figures_of(session: AsyncSession) -> sa.Select[Any]:
    return _FIGURES[session.get_bind().dialect.name]


def _statement(dialect: str, where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    # OFFSET 0 keeps PostgreSQL from inlining the figures into the verdicts, which would
    # count each of them twice.
    inner = _FIGURES[dialect].where(where).offset(0).subquery()
    verdicts = on_track_rule(inner.c)
    return sa.select(
        inner,
        verdicts.attendance_met.label("attendance_met"),
        verdicts.conversations_on_track.label("conversations_on_track"),
        verdicts.on_track.label("on_track"),
    )


def params(now: datetime) -> dict[str, Any]:
    """The bind parameters of ``figures``, as of ``now``."""
    return {"now": now, "today": now.date()}


def _progress(row: Any) -> Progress:
    return Progress(
        enrolment_id=row.id,
        cohort_id=row.cohort_id,
        trainee_id=row.trainee_id,
        status=EnrolmentStatus(row.status),
        sessions_held=row.held,
        sessions_attended=row.attended,
        competencies_signed=row.signed,
        competencies_total=row.total,
        conversations_logged=row.logged,
        target_conversations=row.target or None,
        expected_conversations=row.expected,
        attendance_met=bool(row.attendance_met),
        conversations_on_track=bool(row.conversations_on_track),
        on_track=bool(row.on_track),
        programme_name=row.programme_name,
        cohort_name=row.cohort_name,
    )


async def _run(
    session: AsyncSession, statement: sa.Select[Any], values: dict[str, Any], now: datetime | None
) -> list[Progress]:
    rows = await session.execute(statement, {**values, **params(now or utcnow())})
    return [_progress(row) for row in rows]


_BY_ENROLMENTS = col(Enrolment.id).in_(sa.bindparam("enrolment_ids", expanding=True))
BY_COHORTS = col(Enrolment.cohort_id).in_(sa.bindparam("cohort_ids", expanding=True))
# Built once: SQLAlchemy then computes its cache key once (docs/decisions/0009).
_OF_ENROLMENTS = {d: _statement(d, _BY_ENROLMENTS) for d in _FIGURES}


async def progress_of(
    session: AsyncSession, enrolment_ids: Sequence[uuid.UUID], now: datetime | None = None
) -> dict[uuid.UUID, Progress]:
    """Progress by enrolment id (missing ids are left out), in one statement. The caller
    has checked the enrolments are the reader's to see."""
    if not enrolment_ids:
        return {}
    statement = _OF_ENROLMENTS[session.get_bind().dialect.name]
    found = await _run(session, statement, {"enrolment_ids": list(enrolment_ids)}, now)
    return {p.enrolment_id: p for p in found}


async def progress_in_cohorts(
    session: AsyncSession,
    cohort_ids: Sequence[uuid.UUID],
    now: datetime | None = None,
    *,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> list[Progress]:
    """Progress of every enrolment of these cohorts (and ``where``: the reader's view of
    them), in one statement."""
    if not cohort_ids:
        return []
    statement = _statement(session.get_bind().dialect.name, sa.and_(BY_COHORTS, *where))
    return await _run(session, statement, {"cohort_ids": list(cohort_ids)}, now)
