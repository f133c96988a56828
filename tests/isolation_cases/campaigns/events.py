"""Isolation cases of the campaigns domain: events and RSVPs."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col

from server.campaigns.enums import EventKind
from server.campaigns.models import Event, EventRsvp
from server.core.enums import Role
from server.core.models import utcnow
from tests.campaign_rows import add_campaigns
from tests.isolation_cases import Case, World


async def _their_event(w: World) -> Event:
    their_organiser = w.theirs.members[Role.ORGANISER].id
    (campaign,) = await add_campaigns(
        w.services, w.theirs, ["Theirs Events"], organisers=[their_organiser]
    )
    event = Event(
        organisation_id=w.theirs.organisation.id,
        campaign_id=campaign.id,
        kind=EventKind.HOUSE_MEETING,
        title="Theirs meeting",
        starts_at=utcnow() + timedelta(days=3),
        created_by_id=their_organiser,
    )
    async with w.services.db.session() as session:
        session.add(event)
        await session.commit()
    return event


async def _their_rows(w: World, event: Event) -> tuple[int, int]:
    async with w.services.db.session() as session:
        events = await session.scalar(
            sa.select(sa.func.count()).where(col(Event.campaign_id) == event.campaign_id)
        )
        rsvps = await session.scalar(
            sa.select(sa.func.count()).where(col(EventRsvp.event_id) == event.id)
        )
    return int(events or 0), int(rsvps or 0)


async def create_event(w: World) -> None:
    event = await _their_event(w)
    for role in Role:
        data = await w.data(
            "CreateEvent",
            {
                "input": {
                    "campaignId": str(event.campaign_id),
                    "kind": "ACTION",
                    "title": "Planted",
                    "startsAt": (utcnow() + timedelta(days=1)).isoformat(),
                }
            },
            role=role,
        )
        payload = data["createEvent"]
        assert payload["event"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            ("input.campaignId", "NOT_FOUND")
        ]
    assert await _their_rows(w, event) == (1, 0)


async def rsvp_event(w: World) -> None:
    event = await _their_event(w)
    for role in Role:
        data = await w.data("RsvpEvent", {"eventId": str(event.id), "status": "GOING"}, role=role)
        payload = data["rsvpEvent"]
        assert payload["event"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            ("eventId", "NOT_FOUND")
        ]
    # Nor does CampaignEvents show their campaign or its events.
    data = await w.data("CampaignEvents", {"campaignId": str(event.campaign_id)})
    assert data["campaign"] is None
    assert await _their_rows(w, event) == (1, 0)


CASES: dict[str, Case] = {"createEvent": create_event, "rsvpEvent": rsvp_event}
