"""Events of a campaign (house meetings, public meetings, actions, training) and RSVPs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.campaigns import access
from server.campaigns.columns import EVENT_COLUMNS
from server.campaigns.enums import CampaignStatus, EventKind, RsvpStatus
from server.campaigns.models import Campaign, Event, EventRsvp
from server.core.errors import AccessDenied, Problem, UserError, UserErrorCode, not_found
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.core.validation import checked, collect, optional_text, required_text
from server.security.access import Actor


@dataclass(frozen=True)
class NewEvent:
    campaign_id: uuid.UUID
    kind: EventKind
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    location: str | None = None


async def _may_act(session: AsyncSession, actor: Actor, campaign: Campaign) -> None:
    """Staff, or an organiser assigned to the campaign (who sees it, so is assigned)."""
    if not access.sees_all(actor) and not await access.is_assigned(
        session, campaign.id, actor.user_id
    ):
        raise AccessDenied("FORBIDDEN")


async def create_event(session: AsyncSession, actor: Actor, data: NewEvent) -> Event:
    campaign = await access.require_visible(session, actor, data.campaign_id, "input.campaignId")
    await _may_act(session, actor, campaign)
    if campaign.status is CampaignStatus.CLOSED:
        raise UserError.of(UserErrorCode.CLOSED, "This campaign is closed.", "input.campaignId")
    problems: list[Problem] = []
    title = checked(lambda: required_text(data.title, "input.title", "a title"), problems)
    location = checked(
        lambda: optional_text(data.location, "input.location", "the location", 500), problems
    )
    if data.ends_at is not None and data.ends_at <= data.starts_at:
        problems.append(
            Problem(UserErrorCode.INVALID, "An event must end after it starts.", "input.endsAt")
        )
    collect(*problems)
    assert title is not None
    event = Event(
        organisation_id=actor.organisation_id,
        campaign_id=campaign.id,
        kind=data.kind,
        title=title,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        location=location,
        created_by_id=actor.user_id,
    )
    session.add(event)
    await session.flush()
    audit(session, actor, "event.create", event, {"campaign_id": str(campaign.id)})
    await session.commit()
    return event


async def _visible_event(session: AsyncSession, actor: Actor, event_id: uuid.UUID) -> Event:
    stmt = access.scope(
        sa.select(Event)
        .join(Campaign, col(Campaign.id) == Event.campaign_id)
        .where(col(Event.id) == event_id),
        actor,
    )
    event = (await session.scalars(stmt)).one_or_none()
    if event is None:
        raise not_found("event", "eventId")
    return event


async def rsvp(
    session: AsyncSession, actor: Actor, event_id: uuid.UUID, status: RsvpStatus
) -> Event:
    """The caller's answer, changeable: one per member and event."""
    event = await _visible_event(session, actor, event_id)
    existing = await session.get(EventRsvp, (event.id, actor.user_id))
    if existing is None:
        session.add(EventRsvp(event_id=event.id, user_id=actor.user_id, status=status))
    elif existing.status is not status:
        existing.status, existing.updated_at = status, utcnow()
    audit(session, actor, "event.rsvp", event, {"status": status.value})
    await session.commit()
    return event


async def list_events(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, page: PageRequest
) -> Page[sa.Row[Any]]:
    """The events of a campaign the caller already holds as visible (``Campaign.events``),
    soonest first, as rows of EVENT_COLUMNS."""
    stmt = sa.select(*EVENT_COLUMNS).where(
        col(Event.campaign_id) == campaign_id,
        col(Event.organisation_id) == actor.organisation_id,
    )
    return await paginate(session, stmt, [col(Event.starts_at), col(Event.id)], page)
