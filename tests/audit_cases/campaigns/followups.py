"""Audit cases of the campaigns domain: follow-ups and events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from server.campaigns.enums import EventKind
from server.campaigns.models import Event, FollowUp
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from tests import seed_followups as seed
from tests.audit_cases import Expected, Run
from tests.conftest import GraphQLClient, Org

DUE = "2026-12-01T09:00:00Z"


async def _open(services: Services, org: Org) -> FollowUp:
    organiser = org.members[Role.ORGANISER]
    campaign = await seed.campaign(services, org, organiser)
    return await seed.follow_up(services, campaign, organiser, utcnow() + timedelta(days=1))


async def create_follow_up(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    campaign = await seed.campaign(services, org, org.members[Role.ORGANISER])
    follow_up_id = uuid.uuid4()
    data = await gql.op(
        "CreateFollowUp",
        {"input": {"id": str(follow_up_id), "campaignId": str(campaign.id), "dueAt": DUE}},
        token=org.token(Role.ORGANISER),
    )
    assert data["createFollowUp"]["userErrors"] == []
    return Expected("follow_up.create", "FollowUp", follow_up_id, org.members[Role.ORGANISER].id)


def _change(op: str, action: str, role: Role, **variables: Any) -> Run:
    async def run(gql: GraphQLClient, org: Org, services: Services) -> Expected:
        follow_up = await _open(services, org)
        data = await gql.op(op, {"id": str(follow_up.id), **variables}, token=org.token(role))
        assert next(iter(data.values()))["userErrors"] == []
        return Expected(action, "FollowUp", follow_up.id, org.members[role].id)

    return run


async def create_event(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    campaign = await seed.campaign(services, org, org.members[Role.ORGANISER])
    data = await gql.op(
        "CreateEvent",
        {
            "input": {
                "campaignId": str(campaign.id),
                "kind": "ACTION",
                "title": "Bin day",
                "startsAt": DUE,
            }
        },
        token=org.token(Role.ORGANISER),
    )
    assert data["createEvent"]["userErrors"] == []
    return Expected(
        "event.create", "Event", data["createEvent"]["event"]["id"], org.members[Role.ORGANISER].id
    )


async def rsvp_event(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    campaign = await seed.campaign(services, org, org.members[Role.TRAINER])
    event = Event(
        organisation_id=org.organisation.id,
        campaign_id=campaign.id,
        kind=EventKind.TRAINING,
        title="Training",
        starts_at=utcnow(),
        created_by_id=org.members[Role.ADMIN].id,
    )
    async with services.db.session() as session:
        session.add(event)
        await session.commit()
    data = await gql.op(
        "RsvpEvent", {"eventId": str(event.id), "status": "GOING"}, token=org.token(Role.TRAINER)
    )
    assert data["rsvpEvent"]["userErrors"] == []
    return Expected("event.rsvp", "Event", event.id, org.members[Role.TRAINER].id)


CASES: dict[str, Run] = {
    "createFollowUp": create_follow_up,
    "completeFollowUp": _change("CompleteFollowUp", "follow_up.complete", Role.ORGANISER),
    "cancelFollowUp": _change("CancelFollowUp", "follow_up.cancel", Role.SENIOR_ORGANISER),
    "rescheduleFollowUp": _change(
        "RescheduleFollowUp", "follow_up.reschedule", Role.ADMIN, dueAt=DUE
    ),
    "createEvent": create_event,
    "rsvpEvent": rsvp_event,
}
