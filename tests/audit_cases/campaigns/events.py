"""Audit cases of the campaigns domain: events and RSVPs."""

from __future__ import annotations

from datetime import timedelta

from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from tests.audit_cases import Expected, Run
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org


async def _event(gql: GraphQLClient, org: Org, services: Services) -> str:
    organiser = org.members[Role.ORGANISER].id
    (campaign,) = await add_campaigns(services, org, ["Audited events"], organisers=[organiser])
    data = await gql.op(
        "CreateEvent",
        {
            "input": {
                "campaignId": str(campaign.id),
                "kind": "HOUSE_MEETING",
                "title": "At Pat's",
                "startsAt": (utcnow() + timedelta(days=2)).isoformat(),
            }
        },
        token=org.token(Role.ORGANISER),
    )
    assert data["createEvent"]["userErrors"] == []
    event_id: str = data["createEvent"]["event"]["id"]
    return event_id


async def create_event(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    event_id = await _event(gql, org, services)
    return Expected("event.create", "Event", event_id, org.members[Role.ORGANISER].id)


async def rsvp_event(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    event_id = await _event(gql, org, services)
    data = await gql.op(
        "RsvpEvent", {"eventId": event_id, "status": "MAYBE"}, token=org.token(Role.ADMIN)
    )
    assert data["rsvpEvent"]["userErrors"] == []
    return Expected("event.rsvp", "Event", event_id, org.members[Role.ADMIN].id)


CASES: dict[str, Run] = {"createEvent": create_event, "rsvpEvent": rsvp_event}
