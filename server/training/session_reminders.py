"""What a training session tells its cohort's active trainees, through the workers.

Two reminders go with each session that is not cancelled: SESSION_REMINDER 24 hours and
1 hour before it starts, each only while its time is still ahead (a session scheduled 30
minutes ahead gets neither; one 5 hours ahead gets the 1-hour one only). Moving a session
cancels both and schedules those still ahead of the new time; cancelling it cancels both.
Both changes also tell the active trainees at once (SESSION_CHANGED), staged in the
change's transaction. The resolvers re-read the session and the cohort's enrolments when
they fire: a cancelled session, or one already started, says nothing, and only trainees
still ACTIVE then are told.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.core.manifest import ReminderKind, ReminderResolver
from server.core.models import utcnow
from server.notifications import reminders
from server.notifications.models import Reminder
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from server.training.enums import EnrolmentStatus
from server.training.models import Enrolment, TrainingSession

SUBJECT = "training_session"
SESSION_REMINDER_TEMPLATE = "session_reminder"
SESSION_CHANGED_TEMPLATE = "session_changed"


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %H:%M UTC")


async def active_trainees(session: AsyncSession, training: TrainingSession) -> list[uuid.UUID]:
    """The user ids of the session's cohort's ACTIVE trainees (active accounts only)."""
    rows = await session.scalars(
        sa.select(col(Enrolment.trainee_id))
        .join(User, col(User.id) == col(Enrolment.trainee_id))
        .where(
            col(Enrolment.cohort_id) == training.cohort_id,
            col(Enrolment.organisation_id) == training.organisation_id,
            col(Enrolment.status) == EnrolmentStatus.ACTIVE,
            col(User.is_active).is_(True),
        )
        .order_by(col(Enrolment.trainee_id))
    )
    return list(rows.all())


def _resolver(lead: str) -> ReminderResolver:
    async def resolve(session: AsyncSession, reminder: Reminder) -> list[NotifySpec]:
        training = await session.get(TrainingSession, reminder.subject_id, populate_existing=True)
        if (
            training is None
            or training.organisation_id != reminder.organisation_id
            or training.cancelled_at is not None
            or training.starts_at <= utcnow()
        ):
            return []
        trainees = await active_trainees(session, training)
        if not trainees:
            return []
        return [
            NotifySpec(
                organisation_id=training.organisation_id,
                user_ids=trainees,
                template=SESSION_REMINDER_TEMPLATE,
                event_key=f"session_reminder:{reminder.id}",
                params={
                    "when": lead,
                    "title": training.title,
                    "starts": when(training.starts_at),
                    "location": training.location or training.online_url or "",
                },
            )
        ]

    return resolve


SESSION_REMINDER_DAY = ReminderKind("training.session_reminder_24h", _resolver("tomorrow"))
SESSION_REMINDER_HOUR = ReminderKind("training.session_reminder_1h", _resolver("in an hour"))
LEADS = ((SESSION_REMINDER_DAY, timedelta(hours=24)), (SESSION_REMINDER_HOUR, timedelta(hours=1)))


async def schedule_session_reminders(session: AsyncSession, training: TrainingSession) -> int:
    """Schedule the reminders whose time is still ahead, in the caller's transaction;
    returns how many."""
    now = utcnow()
    scheduled = 0
    for kind, lead in LEADS:
        fire_at = training.starts_at - lead
        if fire_at > now:
            await reminders.schedule(
                session,
                organisation_id=training.organisation_id,
                subject_type=SUBJECT,
                subject_id=training.id,
                kind=kind,
                fire_at=fire_at,
            )
            scheduled += 1
    return scheduled


async def cancel_session_reminders(session: AsyncSession, training: TrainingSession) -> None:
    await reminders.cancel(session, SUBJECT, training.id)


async def tell_changed(session: AsyncSession, training: TrainingSession, change: str) -> None:
    """SESSION_CHANGED to the cohort's active trainees, staged in the caller's transaction."""
    trainees = await active_trainees(session, training)
    if not trainees:
        return
    stage_notification(
        session,
        NotifySpec(
            organisation_id=training.organisation_id,
            user_ids=trainees,
            template=SESSION_CHANGED_TEMPLATE,
            # Each change is its own event: moving twice tells people twice.
            event_key=f"session_changed:{training.id}:{uuid.uuid4()}",
            params={"title": training.title, "change": change},
        ),
    )
