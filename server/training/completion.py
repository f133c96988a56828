"""Automatic completion: an ACTIVE enrolment whose last condition was just met becomes
COMPLETED in that same transaction, and the trainee is sent TRAINING_COMPLETED.

Called by whatever may have met a condition: a sign-off, an attendance mark, and
campaigns' CONVERSATIONS_LOGGED signal (a synced conversation). WITHDRAWN and COMPLETED
enrolments are left as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.core.enums import Role
from server.core.models import utcnow
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from server.security.access import Actor
from server.training.enums import EnrolmentStatus
from server.training.models import Enrolment
from server.training.progress import Progress, progress_of
from server.training.templates import TRAINING_COMPLETED

_ACTIVE_OF_TRAINEES = sa.select(col(Enrolment.id)).where(
    col(Enrolment.trainee_id).in_(sa.bindparam("trainee_ids", expanding=True)),
    col(Enrolment.status) == EnrolmentStatus.ACTIVE,
)


async def complete_if_done(
    session: AsyncSession, enrolment_ids: Sequence[uuid.UUID], actor: Actor | None = None
) -> list[uuid.UUID]:
    """Complete those of ``enrolment_ids`` that now meet every condition; the ids
    completed. ``actor`` is who met the last condition (audited; the trainee when None).
    The caller commits."""
    if not enrolment_ids:
        return []
    done = [p for p in (await progress_of(session, enrolment_ids)).values() if p.done]
    completed: list[uuid.UUID] = []
    for progress in done:
        if await _complete(session, progress, actor):
            completed.append(progress.enrolment_id)
    return completed


async def _complete(session: AsyncSession, progress: Progress, actor: Actor | None) -> bool:
    now = utcnow()
    # Guarded by the status, so two transactions meeting the last condition complete once.
    result = await session.execute(
        sa.update(Enrolment)
        .where(
            col(Enrolment.id) == progress.enrolment_id,
            col(Enrolment.status) == EnrolmentStatus.ACTIVE,
        )
        .values(status=EnrolmentStatus.COMPLETED, status_at=now, updated_at=now)
        .returning(col(Enrolment.organisation_id))
    )
    organisation_id = result.scalar_one_or_none()
    if organisation_id is None:
        return False
    who = actor or Actor(progress.trainee_id, organisation_id, Role.ORGANISER)
    audit(
        session,
        who,
        "enrolment.complete",
        (Enrolment, progress.enrolment_id),
        {"cohort_id": str(progress.cohort_id)},
    )
    stage_notification(
        session,
        NotifySpec(
            organisation_id=organisation_id,
            user_ids=[progress.trainee_id],
            template=TRAINING_COMPLETED,
            event_key=f"training_completed:{progress.enrolment_id}",
            params={"programme": progress.programme_name, "cohort": progress.cohort_name},
        ),
    )
    return True


async def on_conversations_logged(session: AsyncSession, trainee_ids: Sequence[uuid.UUID]) -> None:
    """campaigns.CONVERSATIONS_LOGGED: their new conversations may meet the last target."""
    found = await session.scalars(_ACTIVE_OF_TRAINEES, {"trainee_ids": list(trainee_ids)})
    await complete_if_done(session, list(found))
