"""Training sessions of a cohort: scheduled, moved and cancelled by its trainers.

A session is never deleted: cancelling sets ``cancelled_at``, and a cancelled session
counts for nobody's attendance. The reminders and the notices to the trainees are in
``server/training/session_reminders.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.core.errors import Problem, UserError, UserErrorCode, not_found
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.security.access import Actor
from server.training.access import cohort_to_change
from server.training.models import TrainingSession
from server.training.session_reminders import (
    cancel_session_reminders,
    schedule_session_reminders,
    tell_changed,
    when,
)

TITLE_LIMIT = 200
LOCATION_LIMIT = 500
URL_LIMIT = 2000

SESSION_COLUMNS: tuple[Any, ...] = (
    col(TrainingSession.id),
    col(TrainingSession.organisation_id),
    col(TrainingSession.cohort_id),
    col(TrainingSession.title),
    col(TrainingSession.starts_at),
    col(TrainingSession.ends_at),
    col(TrainingSession.location),
    col(TrainingSession.online_url),
    col(TrainingSession.cancelled_at),
)


@dataclass(frozen=True)
class NewSession:
    cohort_id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str | None = None
    online_url: str | None = None


def _time_problems(starts_at: datetime, ends_at: datetime, prefix: str) -> list[Problem]:
    problems = [
        Problem(UserErrorCode.INVALID, "Give the time with its UTC offset.", f"{prefix}{name}")
        for name, moment in (("startsAt", starts_at), ("endsAt", ends_at))
        if moment.utcoffset() is None
    ]
    if not problems and ends_at <= starts_at:
        problems.append(
            Problem(
                UserErrorCode.INVALID, "The session must end after it starts.", f"{prefix}endsAt"
            )
        )
    return problems


def _text(value: str | None, limit: int, field: str, problems: list[Problem]) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > limit:
        problems.append(
            Problem(UserErrorCode.INVALID, f"At most {limit} characters, please.", field)
        )
    return value


def _checked(new: NewSession) -> dict[str, Any]:
    """The session's values, or a UserError with every problem in ``new``."""
    problems: list[Problem] = []
    title = _text(new.title, TITLE_LIMIT, "input.title", problems)
    if title is None:
        problems.append(Problem(UserErrorCode.REQUIRED, "Give the session a title.", "input.title"))
    location = _text(new.location, LOCATION_LIMIT, "input.location", problems)
    online_url = _text(new.online_url, URL_LIMIT, "input.onlineUrl", problems)
    if online_url is not None and not online_url.lower().startswith(("https://", "http://")):
        problems.append(
            Problem(UserErrorCode.INVALID, "Give a web address (https://...).", "input.onlineUrl")
        )
    problems += _time_problems(new.starts_at, new.ends_at, "input.")
    if problems:
        raise UserError(*problems)
    return {
        "title": title,
        "location": location,
        "online_url": online_url,
        "starts_at": new.starts_at.astimezone(UTC),
        "ends_at": new.ends_at.astimezone(UTC),
    }


async def schedule_session(session: AsyncSession, actor: Actor, new: NewSession) -> TrainingSession:
    cohort = await cohort_to_change(session, actor, new.cohort_id, "input.cohortId")
    training = TrainingSession(
        organisation_id=actor.organisation_id,
        cohort_id=cohort.id,
        created_by_id=actor.user_id,
        **_checked(new),
    )
    session.add(training)
    await session.flush()
    await schedule_session_reminders(session, training)
    audit(
        session,
        actor,
        "training_session.schedule",
        training,
        {"cohort_id": str(cohort.id), "starts_at": training.starts_at.isoformat()},
    )
    await session.commit()
    return training


async def session_for_change(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, field: str = "id"
) -> TrainingSession:
    """The session, locked, if the actor trains its cohort (or is an admin). Another
    organisation's, or one of a cohort the actor does not see, is NOT_FOUND; one of the
    cohort a trainee is enrolled in is FORBIDDEN to them."""
    training = (
        await session.scalars(
            sa.select(TrainingSession)
            .where(
                col(TrainingSession.id) == session_id,
                col(TrainingSession.organisation_id) == actor.organisation_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if training is None:
        raise not_found("training session", field)
    try:
        await cohort_to_change(session, actor, training.cohort_id, field)
    except UserError as error:
        if error.problems[0].code is UserErrorCode.NOT_FOUND:
            raise not_found("training session", field) from None
        raise
    if training.cancelled_at is not None:
        raise UserError.of(UserErrorCode.CLOSED, "This session was cancelled.", field)
    return training


async def move_session(
    session: AsyncSession,
    actor: Actor,
    session_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
) -> TrainingSession:
    problems = _time_problems(starts_at, ends_at, "")
    if problems:
        raise UserError(*problems)
    training = await session_for_change(session, actor, session_id)
    before = (training.starts_at, training.ends_at)
    training.starts_at, training.ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    if (training.starts_at, training.ends_at) == before:
        return training  # nothing moved: nobody is told, the reminders stand
    await cancel_session_reminders(session, training)
    await schedule_session_reminders(session, training)
    await tell_changed(
        session,
        training,
        f"{training.title} has moved from {when(before[0])} to {when(training.starts_at)}.",
    )
    audit(
        session,
        actor,
        "training_session.move",
        training,
        {"from": before[0].isoformat(), "to": training.starts_at.isoformat()},
    )
    await session.commit()
    return training


async def cancel_session(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID
) -> TrainingSession:
    training = await session_for_change(session, actor, session_id)
    training.cancelled_at = utcnow()
    await cancel_session_reminders(session, training)
    await tell_changed(
        session, training, f"{training.title} on {when(training.starts_at)} is cancelled."
    )
    audit(session, actor, "training_session.cancel", training)
    await session.commit()
    return training


async def list_sessions(
    session: AsyncSession, organisation_id: uuid.UUID, cohort_id: uuid.UUID, page: PageRequest
) -> Page[Any]:
    """Rows of SESSION_COLUMNS of a cohort, earliest first (cancelled ones included). The
    caller reached the cohort through a read that checked the actor sees it."""
    stmt = sa.select(*SESSION_COLUMNS).where(
        col(TrainingSession.cohort_id) == cohort_id,
        col(TrainingSession.organisation_id) == organisation_id,
    )
    order = (col(TrainingSession.starts_at), col(TrainingSession.id))
    return await paginate(session, stmt, order, page)
