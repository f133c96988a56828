"""Events of a campaign (house meetings, public meetings, actions, trainings) and RSVPs.

Whoever can see a campaign (staff, or a member assigned to it) can add an event to it
and answer an event's invitation; the answer is one row per member, changed in place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.campaigns.access import get_visible, require_visible
from server.campaigns.columns import EVENT_COLUMNS
from server.campaigns.enums import CampaignStatus, EventKind, RsvpStatus
from server.campaigns.models import Event, EventRsvp
from server.core.errors import Problem, UserError, UserErrorCode, not_found
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.security.access import Actor

TITLE_LIMIT = 200
LOCATION_LIMIT = 500


@dataclass(frozen=True)
class NewEvent:
    campaign_id: uuid.UUID
    kind: EventKind
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    location: str | None = None


def _problems(new: NewEvent) -> list[Problem]:
    problems: list[Problem] = []
    title = new.title.strip()
    if not title:
        problems.append(Problem(UserErrorCode.REQUIRED, "Give the event a title.", "input.title"))
    elif len(title) > TITLE_LIMIT:
        problems.append(
            Problem(
                UserErrorCode.INVALID, f"At most {TITLE_LIMIT} characters, please.", "input.title"
            )
        )
    if new.ends_at is not None and new.ends_at <= new.starts_at:
        problems.append(
            Problem(UserErrorCode.INVALID, "The event must end after it starts.", "input.endsAt")
        )
    if new.location is not None and len(new.location.strip()) > LOCATION_LIMIT:
        problems.append(
            Problem(
                UserErrorCode.INVALID,
                f"At most {LOCATION_LIMIT} characters, please.",
                "input.location",
            )
        )
    return problems


async def create_event(session: AsyncSession, actor: Actor, new: NewEvent) -> Event:
    campaign = await require_visible(session, actor, new.campaign_id, "input.campaignId")
    if campaign.status is CampaignStatus.CLOSED:
        raise UserError.of(
            UserErrorCode.CLOSED, "This campaign is closed to new events.", "input.campaignId"
        )
    problems = _problems(new)
    if problems:
        raise UserError(*problems)
    event = Event(
        organisation_id=actor.organisation_id,
        campaign_id=campaign.id,
        kind=new.kind,
        title=new.title.strip(),
        starts_at=new.starts_at.astimezone(UTC),
        ends_at=new.ends_at.astimezone(UTC) if new.ends_at else None,
        location=(new.location or "").strip() or None,
        created_by_id=actor.user_id,
    )
    session.add(event)
    audit(session, actor, "event.create", event, {"campaign_id": str(campaign.id)})
    await session.commit()
    return event


async def visible_event(session: AsyncSession, actor: Actor, event_id: uuid.UUID) -> Event | None:
    event = await session.scalar(
        sa.select(Event).where(
            col(Event.id) == event_id, col(Event.organisation_id) == actor.organisation_id
        )
    )
    if event is None or await get_visible(session, actor, event.campaign_id) is None:
        return None
    return event


def _insert_for(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert for {dialect}")


async def rsvp_event(
    session: AsyncSession, actor: Actor, event_id: uuid.UUID, status: RsvpStatus
) -> Event:
    """Set the actor's answer (one per member: a second RSVP changes the first)."""
    event = await visible_event(session, actor, event_id)
    if event is None:
        raise not_found("event", "eventId")
    now = utcnow()
    insert = _insert_for(session)(EventRsvp).values(
        event_id=event.id, user_id=actor.user_id, status=status, updated_at=now
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[col(EventRsvp.event_id), col(EventRsvp.user_id)],
            set_={"status": insert.excluded.status, "updated_at": now},
        )
    )
    audit(session, actor, "event.rsvp", event, {"status": status.value})
    await session.commit()
    return event


async def list_events(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, page: PageRequest
) -> Page[Any]:
    """Rows of EVENT_COLUMNS of a campaign, soonest first. The caller reached the campaign
    through a read that checked the actor sees it (a Campaign of the API)."""
    stmt = sa.select(*EVENT_COLUMNS).where(
        col(Event.campaign_id) == campaign_id,
        col(Event.organisation_id) == actor.organisation_id,
    )
    return await paginate(session, stmt, (col(Event.starts_at), col(Event.id)), page)
