"""Follow-ups: what an organiser must do by a time, with reminders and escalation.

A follow-up's id is the client's, so a retried create finds what it stored and changes
nothing. Two reminders go with each open follow-up: FOLLOW_UP_DUE tells the assignee an
hour before ``due_at`` (at once when that is past), FOLLOW_UP_OVERDUE escalates one still
open 48 hours after ``due_at`` to the senior organisers of the campaign's area (and of the
areas containing it); a campaign without an area is the whole organisation's, so its
escalation goes to the organisation's senior organisers. Both resolvers re-read the
follow-up when they fire: a completed or cancelled one says nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import User
from server.audit.service import audit
from server.campaigns.access import get_visible, is_assigned, require_visible, sees_all
from server.campaigns.columns import FOLLOW_UP_COLUMNS
from server.campaigns.enums import CampaignStatus, FollowUpStatus
from server.campaigns.models import Campaign, CampaignOrganiser, Conversation, FollowUp
from server.core.enums import Role
from server.core.errors import UserError, UserErrorCode, not_found
from server.core.manifest import ReminderKind
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.notifications import reminders
from server.notifications.models import (
    Notification,
    NotificationPreference,
    Reminder,
    defaults_for,
)
from server.notifications.recipients import senior_organisers_for_area
from server.notifications.spec import NotifySpec
from server.security.access import Actor

SUBJECT = "follow_up"
DUE_LEAD = timedelta(hours=1)
ESCALATE_AFTER = timedelta(hours=48)
TEXT_LIMIT = 2000
DIGEST_LIMIT = 20


# --- reminders ---------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d %b %H:%M UTC")


async def _open(session: AsyncSession, reminder: Reminder) -> FollowUp | None:
    """The reminder's follow-up, if it is still open (re-checked at the moment it fires)."""
    follow_up = await session.get(FollowUp, reminder.subject_id, populate_existing=True)
    if (
        follow_up is None
        or follow_up.organisation_id != reminder.organisation_id
        or follow_up.status is not FollowUpStatus.OPEN
    ):
        return None
    return follow_up


async def _resolve_due(session: AsyncSession, reminder: Reminder) -> list[NotifySpec]:
    follow_up = await _open(session, reminder)
    if follow_up is None:
        return []
    return [
        NotifySpec(
            organisation_id=follow_up.organisation_id,
            user_ids=[follow_up.assignee_id],
            template="follow_up_due",
            event_key=f"follow_up_due:{reminder.id}",
            params={"when": _when(follow_up.due_at), "note": follow_up.note or ""},
        )
    ]


async def _org_senior_organisers(session: AsyncSession, organisation_id: uuid.UUID) -> list[Any]:
    rows = await session.scalars(
        sa.select(col(User.id)).where(
            col(User.organisation_id) == organisation_id,
            col(User.role) == Role.SENIOR_ORGANISER,
            col(User.is_active).is_(True),
        )
    )
    return list(rows.all())


async def _resolve_overdue(session: AsyncSession, reminder: Reminder) -> list[NotifySpec]:
    follow_up = await _open(session, reminder)
    if follow_up is None:
        return []
    campaign = await session.get(Campaign, follow_up.campaign_id)
    assignee = await session.get(User, follow_up.assignee_id)
    if campaign is None or assignee is None:
        return []
    if campaign.area_id is not None:
        seniors = await senior_organisers_for_area(
            session, follow_up.organisation_id, campaign.area_id
        )
    else:
        seniors = await _org_senior_organisers(session, follow_up.organisation_id)
    follow_up.escalated_at = utcnow()
    if not seniors:
        return []
    return [
        NotifySpec(
            organisation_id=follow_up.organisation_id,
            user_ids=seniors,
            template="follow_up_overdue",
            event_key=f"follow_up_overdue:{reminder.id}",
            params={
                "organiser": assignee.display_name,
                "due": _when(follow_up.due_at),
                "note": follow_up.note or "",
            },
        )
    ]


FOLLOW_UP_DUE = ReminderKind("campaigns.follow_up_due", _resolve_due)
FOLLOW_UP_OVERDUE = ReminderKind("campaigns.follow_up_overdue", _resolve_overdue)
ERASED_WORDS = "(erased)"


async def erase_reminder_words(session: AsyncSession, follow_up_ids: sa.Select[Any]) -> None:
    """Members' notifications of reminders about these follow-ups lose their words (the
    follow-up's note, the organiser's name): for an erasure of the resident concerned."""
    fired = (
        await session.scalars(
            sa.select(col(Reminder.id)).where(
                col(Reminder.subject_id).in_(follow_up_ids), col(Reminder.fired_at).is_not(None)
            )
        )
    ).all()
    if not fired:
        return
    keys = [f"{event}:{r}:" for r in fired for event in ("follow_up_due", "follow_up_overdue")]
    await session.execute(
        sa.update(Notification)
        .where(sa.or_(*(col(Notification.dedupe_key).startswith(k) for k in keys)))
        .values(body=ERASED_WORDS)
        .execution_options(synchronize_session=False)
    )


def _fire_times(due_at: datetime) -> tuple[datetime, datetime]:
    now = utcnow()
    return max(due_at - DUE_LEAD, now), max(due_at + ESCALATE_AFTER, now)


async def schedule_follow_up_reminders(session: AsyncSession, *follow_ups: Any) -> None:
    """Schedule each new follow-up's FOLLOW_UP_DUE reminder and its escalation, in the
    caller's transaction (sync calls this once for the follow-ups of a whole batch);
    ``follow_ups``: FollowUp rows, or anything with their id, organisation and due time."""
    due: list[reminders.Due] = []
    for follow_up in follow_ups:
        times = _fire_times(follow_up.due_at)
        for kind, at in zip((FOLLOW_UP_DUE, FOLLOW_UP_OVERDUE), times, strict=True):
            due.append(reminders.Due(follow_up.organisation_id, SUBJECT, follow_up.id, kind, at))
    await reminders.schedule_many(session, due)


async def _move_reminders(session: AsyncSession, follow_up: FollowUp) -> None:
    due, overdue = _fire_times(follow_up.due_at)
    for kind, at in ((FOLLOW_UP_DUE, due), (FOLLOW_UP_OVERDUE, overdue)):
        await reminders.move(
            session,
            organisation_id=follow_up.organisation_id,
            subject_type=SUBJECT,
            subject_id=follow_up.id,
            kind=kind,
            fire_at=at,
        )


# --- creating ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewFollowUp:
    id: uuid.UUID
    campaign_id: uuid.UUID
    due_at: datetime
    conversation_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    note: str | None = None


def _text(value: str | None, field: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > TEXT_LIMIT:
        raise UserError.of(
            UserErrorCode.INVALID, f"At most {TEXT_LIMIT} characters, please.", field
        )
    return value


async def _replay(session: AsyncSession, actor: Actor, follow_up_id: uuid.UUID) -> FollowUp | None:
    """The follow-up already stored under this id: a retried create gets it unchanged."""
    existing = await session.get(FollowUp, follow_up_id, populate_existing=True)
    if existing is None:
        return None
    if existing.organisation_id != actor.organisation_id or not await _may_see(
        session, actor, existing
    ):
        raise not_found("follow-up", "input.id")
    return existing


async def _check_assignee(
    session: AsyncSession, actor: Actor, campaign: Campaign, assignee_id: uuid.UUID | None
) -> uuid.UUID:
    if assignee_id is None or assignee_id == actor.user_id:
        return actor.user_id
    member = await session.scalar(
        sa.select(col(User.id)).where(
            col(User.id) == assignee_id,
            col(User.organisation_id) == actor.organisation_id,
            col(User.is_active).is_(True),
        )
    )
    if member is None or not await is_assigned(session, campaign.id, assignee_id):
        raise UserError.of(
            UserErrorCode.NOT_FOUND, "No such organiser of this campaign.", "input.assigneeId"
        )
    return assignee_id


async def _check_links(session: AsyncSession, campaign: Campaign, new: NewFollowUp) -> None:
    """The conversation, and the resident (met in one of its conversations), are the
    campaign's own."""
    if new.conversation_id is not None:
        found = await session.scalar(
            sa.select(col(Conversation.id)).where(
                col(Conversation.id) == new.conversation_id,
                col(Conversation.campaign_id) == campaign.id,
                col(Conversation.organisation_id) == campaign.organisation_id,
            )
        )
        if found is None:
            raise not_found("conversation", "input.conversationId")
    if new.resident_id is not None:
        met = await session.scalar(
            sa.select(sa.literal(1))
            .where(
                col(Conversation.resident_id) == new.resident_id,
                col(Conversation.campaign_id) == campaign.id,
                col(Conversation.organisation_id) == campaign.organisation_id,
            )
            .limit(1)
        )
        if met is None:
            raise not_found("resident", "input.residentId")


async def create_follow_up(session: AsyncSession, actor: Actor, new: NewFollowUp) -> FollowUp:
    existing = await _replay(session, actor, new.id)
    if existing is not None:
        return existing
    campaign = await require_visible(session, actor, new.campaign_id, "input.campaignId")
    if campaign.status is CampaignStatus.CLOSED:
        raise UserError.of(
            UserErrorCode.CLOSED, "This campaign is closed to new follow-ups.", "input.campaignId"
        )
    assignee_id = await _check_assignee(session, actor, campaign, new.assignee_id)
    await _check_links(session, campaign, new)
    if new.due_at.utcoffset() is None:
        raise UserError.of(UserErrorCode.INVALID, "dueAt needs a UTC offset.", "input.dueAt")
    follow_up = FollowUp(
        id=new.id,
        organisation_id=actor.organisation_id,
        campaign_id=campaign.id,
        conversation_id=new.conversation_id,
        resident_id=new.resident_id,
        assignee_id=assignee_id,
        created_by_id=actor.user_id,
        due_at=new.due_at.astimezone(UTC),
        note=_text(new.note, "input.note"),
    )
    try:
        async with session.begin_nested():
            session.add(follow_up)
            await session.flush()
    except IntegrityError:
        # The same create, retried, got there first: return what it stored.
        stored = await _replay(session, actor, new.id)
        if stored is None:
            raise
        return stored
    await schedule_follow_up_reminders(session, follow_up)
    audit(
        session,
        actor,
        "follow_up.create",
        follow_up,
        {"campaign_id": str(campaign.id), "assignee_id": str(assignee_id)},
    )
    await session.commit()
    return follow_up


# --- changing ----------------------------------------------------------------------------


async def _may_see(session: AsyncSession, actor: Actor, follow_up: FollowUp) -> bool:
    if sees_all(actor) or actor.user_id in (follow_up.assignee_id, follow_up.created_by_id):
        return True
    return await get_visible(session, actor, follow_up.campaign_id) is not None


async def _open_for_change(
    session: AsyncSession, actor: Actor, follow_up_id: uuid.UUID
) -> FollowUp:
    """The follow-up, locked, if the actor may change it: its assignee, its creator or
    staff. Another organisation's, or one the actor cannot see, is NOT_FOUND."""
    follow_up = (
        await session.scalars(
            sa.select(FollowUp)
            .where(
                col(FollowUp.id) == follow_up_id,
                col(FollowUp.organisation_id) == actor.organisation_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if follow_up is None or not await _may_see(session, actor, follow_up):
        raise not_found("follow-up")
    if not (sees_all(actor) or actor.user_id in (follow_up.assignee_id, follow_up.created_by_id)):
        raise UserError.of(
            UserErrorCode.FORBIDDEN,
            "Only its assignee, its creator or staff can change this follow-up.",
            "id",
        )
    if follow_up.status is FollowUpStatus.DONE:
        raise UserError.of(UserErrorCode.ALREADY_DONE, "This follow-up is already done.", "id")
    if follow_up.status is FollowUpStatus.CANCELLED:
        raise UserError.of(UserErrorCode.CLOSED, "This follow-up was cancelled.", "id")
    return follow_up


async def _close(
    session: AsyncSession,
    actor: Actor,
    follow_up_id: uuid.UUID,
    status: FollowUpStatus,
    changes: Callable[[], dict[str, Any]],
) -> FollowUp:
    """Done or cancelled: the open follow-up takes ``changes`` (checked once it is found,
    as before), and its reminders end."""
    follow_up = await _open_for_change(session, actor, follow_up_id)
    for key, value in changes().items():
        setattr(follow_up, key, value)
    follow_up.status = status
    await reminders.cancel(session, SUBJECT, follow_up.id)
    verb = "complete" if status is FollowUpStatus.DONE else "cancel"
    audit(session, actor, f"follow_up.{verb}", follow_up)
    await session.commit()
    return follow_up


async def complete_follow_up(
    session: AsyncSession, actor: Actor, follow_up_id: uuid.UUID, outcome: str | None
) -> FollowUp:
    return await _close(
        session,
        actor,
        follow_up_id,
        FollowUpStatus.DONE,
        lambda: {"outcome": _text(outcome, "outcome"), "completed_at": utcnow()},
    )


async def cancel_follow_up(
    session: AsyncSession, actor: Actor, follow_up_id: uuid.UUID, reason: str | None
) -> FollowUp:
    return await _close(
        session,
        actor,
        follow_up_id,
        FollowUpStatus.CANCELLED,
        lambda: {"cancel_reason": _text(reason, "reason"), "cancelled_at": utcnow()},
    )


async def reschedule_follow_up(
    session: AsyncSession, actor: Actor, follow_up_id: uuid.UUID, due_at: datetime
) -> FollowUp:
    if due_at.utcoffset() is None:
        raise UserError.of(UserErrorCode.INVALID, "dueAt needs a UTC offset.", "dueAt")
    follow_up = await _open_for_change(session, actor, follow_up_id)
    before = follow_up.due_at
    follow_up.due_at = due_at.astimezone(UTC)
    follow_up.escalated_at = None
    await _move_reminders(session, follow_up)
    audit(
        session,
        actor,
        "follow_up.reschedule",
        follow_up,
        {"from": before.isoformat(), "to": follow_up.due_at.isoformat()},
    )
    await session.commit()
    return follow_up


# --- reading -----------------------------------------------------------------------------

_ORDER = (col(FollowUp.due_at), col(FollowUp.id))


async def list_follow_ups(
    session: AsyncSession,
    actor: Actor,
    page: PageRequest,
    *,
    mine: bool = False,
    statuses: list[FollowUpStatus] | None = None,
) -> Page[Any]:
    """Rows of FOLLOW_UP_COLUMNS, soonest due first. ``mine``: assigned to the actor;
    otherwise staff see the organisation's, others those of campaigns assigned to them."""
    stmt = sa.select(*FOLLOW_UP_COLUMNS).where(
        col(FollowUp.organisation_id) == actor.organisation_id
    )
    if mine:
        stmt = stmt.where(col(FollowUp.assignee_id) == actor.user_id)
    elif not sees_all(actor):
        stmt = stmt.where(
            col(FollowUp.campaign_id).in_(
                sa.select(col(CampaignOrganiser.campaign_id)).where(
                    col(CampaignOrganiser.user_id) == actor.user_id
                )
            )
        )
    if statuses:
        stmt = stmt.where(col(FollowUp.status).in_(statuses))
    return await paginate(session, stmt, _ORDER, page)


async def due_today_lines(session: AsyncSession, user: User, day: Any) -> list[str]:
    """The digest section "follow-ups due today": the user's open follow-ups due on that
    local date (in the user's own time zone)."""
    timezone = await session.scalar(
        sa.select(col(NotificationPreference.timezone)).where(
            col(NotificationPreference.user_id) == user.id
        )
    )
    zone = ZoneInfo(timezone or defaults_for(user.id).timezone)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    rows = (
        await session.execute(
            sa.select(col(FollowUp.due_at), col(FollowUp.note), col(Campaign.title))
            .join(Campaign, col(Campaign.id) == col(FollowUp.campaign_id))
            .where(
                col(FollowUp.assignee_id) == user.id,
                col(FollowUp.organisation_id) == user.organisation_id,
                col(FollowUp.status) == FollowUpStatus.OPEN,
                col(FollowUp.due_at) >= start.astimezone(UTC),
                col(FollowUp.due_at) < end.astimezone(UTC),
            )
            .order_by(col(FollowUp.due_at), col(FollowUp.id))
            .limit(DIGEST_LIMIT + 1)
        )
    ).all()
    if not rows:
        return []
    lines = ["Follow-ups due today:"]
    for row in rows[:DIGEST_LIMIT]:
        local = row.due_at.astimezone(zone).strftime("%H:%M")
        note = f" {row.note}" if row.note else ""
        lines.append(f"- {local} ({row.title}){note}")
    if len(rows) > DIGEST_LIMIT:
        lines.append("- and more: see the app")
    return lines
