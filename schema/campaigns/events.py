"""Events of a campaign and RSVPs: a thin layer over server/campaigns/events.py."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.campaigns.enums import EventKind, RsvpStatus
from schema.campaigns.types import EventType
from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id
from schema.mutation import attempt
from schema.pagination import Connection, connection, page_request
from schema.permissions import IsAuthenticated
from server.campaigns import events
from server.campaigns.models import Event


async def campaign_events(
    info: Info, campaign_id: uuid.UUID, first: int | None, after: str | None
) -> Connection[EventType]:
    """CampaignType.events: the campaign was read for this caller, so it is visible."""
    ctx = info.context
    request = page_request(ctx, first, after)
    async with ctx.db() as session:
        page = await events.list_events(session, ctx.require_actor(), campaign_id, request)
    return connection(ctx, page, EventType.of)


@strawberry.input
class CreateEventInput:
    campaign_id: strawberry.ID
    kind: EventKind
    title: str
    starts_at: datetime
    ends_at: datetime | None = strawberry.field(default=None, description="After startsAt.")
    location: str | None = None


@strawberry.type
class EventPayload:
    event: EventType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, event: Event | None, errors: list[UserError]) -> EventPayload:
        return cls(event=EventType.of(event) if event else None, user_errors=errors)


@strawberry.type
class EventMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Staff, or a member assigned to the campaign.",
    )
    async def create_event(self, info: Info, input: CreateEventInput) -> EventPayload:
        ctx = info.context
        actor = ctx.require_actor()

        async def work(session: AsyncSession) -> Event:
            new = events.NewEvent(
                campaign_id=parse_id(input.campaign_id, "input.campaignId", "campaign"),
                kind=input.kind,
                title=input.title,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                location=input.location,
            )
            return await events.create_event(session, actor, new)

        event, errors = await attempt(ctx, work)
        return EventPayload.of(event, errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The caller's answer to an event's invitation; a second one changes it.",
    )
    async def rsvp_event(
        self, info: Info, event_id: strawberry.ID, status: RsvpStatus
    ) -> EventPayload:
        ctx = info.context
        actor = ctx.require_actor()
        event, errors = await attempt(
            ctx,
            lambda s: events.rsvp_event(s, actor, parse_id(event_id, "eventId", "event"), status),
        )
        return EventPayload.of(event, errors)
