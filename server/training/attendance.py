"""Attendance: a session's register, marked in batches by a trainer of its cohort.

One row per session and enrolment holds the latest mark; a correction updates it, and
every mark and correction is an audit entry (``attendance.mark``, ``attendance.correct``,
with the status before and after), which is the history. A mark sent again unchanged
changes nothing and is not recorded again.

A batch is applied whole or not at all: any enrolment id that is not of this session's
cohort (or is malformed, or sent twice) is a userError on its own field
(``input.marks.3.enrolmentId``), every such mark is named at once, and nothing of the batch
is stored, so the trainer corrects the register and sends it again rather than wondering
which half of it counted. Marks are taken once the session has started; a cancelled
session takes none (it counts for nobody). The marked enrolments' completion is checked
in the same transaction (``server/training/completion.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.models import utcnow
from server.core.validation import uuid_or_none
from server.security.access import Actor
from server.training.completion import complete_if_done
from server.training.enums import AttendanceStatus
from server.training.models import AttendanceMark, Enrolment, TrainingSession
from server.training.sessions import session_for_change

MARKS_LIMIT = 200
FIELD = "input.trainingSessionId"


@dataclass(frozen=True)
class MarkInput:
    enrolment_id: str
    status: AttendanceStatus


async def _cohort_enrolments(
    session: AsyncSession, training: TrainingSession, ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    if not ids:
        return set()
    rows = await session.scalars(
        sa.select(col(Enrolment.id)).where(
            col(Enrolment.id).in_(ids),
            col(Enrolment.cohort_id) == training.cohort_id,
            col(Enrolment.organisation_id) == training.organisation_id,
        )
    )
    return set(rows.all())


async def _checked(
    session: AsyncSession, training: TrainingSession, marks: Sequence[MarkInput]
) -> dict[uuid.UUID, AttendanceStatus]:
    """The batch as enrolment id -> status, or a UserError naming every bad mark."""
    parsed = [uuid_or_none(m.enrolment_id) for m in marks]
    found = await _cohort_enrolments(session, training, {i for i in parsed if i})
    problems: list[Problem] = []
    batch: dict[uuid.UUID, AttendanceStatus] = {}
    for n, (enrolment_id, mark) in enumerate(zip(parsed, marks, strict=True)):
        field = f"input.marks.{n}.enrolmentId"
        if enrolment_id is None or enrolment_id not in found:
            problems.append(
                Problem(UserErrorCode.NOT_FOUND, "No such trainee in this cohort.", field)
            )
        elif enrolment_id in batch:
            problems.append(
                Problem(UserErrorCode.INVALID, "This trainee is marked twice in one batch.", field)
            )
        else:
            batch[enrolment_id] = mark.status
    if problems:
        raise UserError(*problems)
    return batch


async def record_attendance(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, marks: Sequence[MarkInput]
) -> TrainingSession:
    if len(marks) > MARKS_LIMIT:
        raise UserError.of(
            UserErrorCode.INVALID,
            f"Send at most {MARKS_LIMIT} marks at a time; this list has {len(marks)}.",
            "input.marks",
        )
    training = await session_for_change(session, actor, session_id, FIELD)
    now = utcnow()
    if training.starts_at > now:
        raise UserError.of(UserErrorCode.INVALID, "This session has not started yet.", FIELD)
    batch = await _checked(session, training, marks)
    if not batch:
        return training
    existing = {
        m.enrolment_id: m
        for m in await session.scalars(
            sa.select(AttendanceMark).where(
                col(AttendanceMark.session_id) == training.id,
                col(AttendanceMark.enrolment_id).in_(batch),
            )
        )
    }
    for enrolment_id, status in batch.items():
        mark = existing.get(enrolment_id)
        details = {"session_id": str(training.id), "enrolment_id": str(enrolment_id)}
        if mark is None:
            mark = AttendanceMark(
                organisation_id=training.organisation_id,
                session_id=training.id,
                enrolment_id=enrolment_id,
                status=status,
                recorded_at=now,
                recorded_by_id=actor.user_id,
            )
            session.add(mark)
            audit(session, actor, "attendance.mark", mark, {**details, "status": status.value})
        elif mark.status is not status:
            before = mark.status
            mark.status, mark.recorded_at, mark.recorded_by_id = status, now, actor.user_id
            audit(
                session,
                actor,
                "attendance.correct",
                mark,
                {**details, "from": before.value, "status": status.value},
            )
    await session.flush()
    await complete_if_done(session, list(batch), actor)
    await session.commit()
    return training
