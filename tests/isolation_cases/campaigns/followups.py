"""Isolation cases of the campaigns domain: follow-ups and events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from server.campaigns.enums import EventKind, FollowUpStatus
from server.campaigns.models import Campaign, Event, FollowUp
from server.core.enums import Role
from server.core.models import utcnow
from tests import seed_followups as seed
from tests.isolation_cases import World

DUE = "2026-12-01T09:00:00Z"


@dataclass
class Theirs:
    campaign: Campaign
    follow_up: FollowUp
    event: Event


async def _theirs(w: World) -> Theirs:
    """A campaign of Theirs with a follow-up and an event, all secrets to Ours."""
    organiser = w.theirs.members[Role.ORGANISER]
    campaign = await seed.campaign(w.services, w.theirs, organiser, title="Theirs campaign")
    follow_up = await seed.follow_up(
        w.services, campaign, organiser, utcnow() + timedelta(days=1), note="Theirs note"
    )
    event = Event(
        organisation_id=w.theirs.organisation.id,
        campaign_id=campaign.id,
        kind=EventKind.ACTION,
        title="Theirs event",
        starts_at=utcnow() + timedelta(days=2),
        created_by_id=organiser.id,
    )
    async with w.services.db.session() as session:
        session.add(event)
        await session.commit()
    w.secrets |= {str(campaign.id), str(follow_up.id), str(event.id)}
    return Theirs(campaign, follow_up, event)


async def _unchanged(w: World, theirs: Theirs) -> None:
    async with w.services.db.session() as session:
        follow_up = await session.get(FollowUp, theirs.follow_up.id)
        assert follow_up is not None
        assert follow_up.status is FollowUpStatus.OPEN
        assert follow_up.due_at == theirs.follow_up.due_at


async def follow_ups(w: World) -> None:
    theirs = await _theirs(w)
    ours = await seed.campaign(w.services, w.ours, w.ours.members[Role.ORGANISER], title="Ours")
    mine = await seed.follow_up(w.services, ours, w.ours.members[Role.ORGANISER], utcnow())
    data = await w.data("MyFollowUps", role=Role.ORGANISER)
    assert [e["node"]["id"] for e in data["followUps"]["edges"]] == [str(mine.id)]
    for role in Role:
        body = await w.gql.raw(
            "{ followUps(first: 100) { totalCount edges { node { id } } } }",
            token=w.ours.token(role),
        )
        w.responses.append(body)
        edges = body["data"]["followUps"]["edges"]
        assert str(theirs.follow_up.id) not in [e["node"]["id"] for e in edges]


def _not_found(payload: dict[str, Any], field: str) -> None:
    assert payload["userErrors"][0]["code"] == "NOT_FOUND", payload
    assert payload["userErrors"][0]["field"] == field


async def create_follow_up(w: World) -> None:
    theirs = await _theirs(w)
    ours = await seed.campaign(w.services, w.ours, w.ours.members[Role.ORGANISER], title="Ours")
    their_user = w.theirs.members[Role.ORGANISER]
    attempts = {
        # Their follow-up's id, re-sent as if it were ours: nothing of it comes back.
        "input.id": {"id": str(theirs.follow_up.id), "campaignId": str(ours.id)},
        "input.campaignId": {"campaignId": str(theirs.campaign.id)},
        "input.assigneeId": {"campaignId": str(ours.id), "assigneeId": str(their_user.id)},
    }
    for field, change in attempts.items():
        for role in (Role.ADMIN, Role.ORGANISER):
            variables = {"input": {"id": str(theirs.follow_up.id), "dueAt": DUE, **change}}
            if field != "input.id":
                variables["input"]["id"] = str(uuid.uuid4())
            data = await w.data("CreateFollowUp", variables, role=role)
            assert data["createFollowUp"]["followUp"] is None
            _not_found(data["createFollowUp"], field)
    await _unchanged(w, theirs)


async def _change(w: World, op: str, **variables: Any) -> None:
    theirs = await _theirs(w)
    for role in Role:
        data = await w.data(op, {"id": str(theirs.follow_up.id), **variables}, role=role)
        payload = next(iter(data.values()))
        assert payload["followUp"] is None
        _not_found(payload, "id")
    await _unchanged(w, theirs)


async def complete_follow_up(w: World) -> None:
    await _change(w, "CompleteFollowUp", outcome="Taken over")


async def cancel_follow_up(w: World) -> None:
    await _change(w, "CancelFollowUp", reason="Taken over")


async def reschedule_follow_up(w: World) -> None:
    await _change(w, "RescheduleFollowUp", dueAt=DUE)


async def create_event(w: World) -> None:
    theirs = await _theirs(w)
    for role in Role:
        data = await w.data(
            "CreateEvent",
            {
                "input": {
                    "campaignId": str(theirs.campaign.id),
                    "kind": "ACTION",
                    "title": "Sneaky",
                    "startsAt": DUE,
                }
            },
            role=role,
        )
        assert data["createEvent"]["event"] is None
        _not_found(data["createEvent"], "input.campaignId")
    body = await w.run("CampaignEvents", {"campaignId": str(theirs.campaign.id)})
    assert body["data"]["campaign"] is None


async def rsvp_event(w: World) -> None:
    theirs = await _theirs(w)
    for role in Role:
        data = await w.data(
            "RsvpEvent", {"eventId": str(theirs.event.id), "status": "GOING"}, role=role
        )
        assert data["rsvpEvent"]["event"] is None
        _not_found(data["rsvpEvent"], "eventId")
    # Their own view: nobody of Ours answered.
    body = await w.gql.raw(
        "query($id: ID!) { campaign(id: $id) { events { edges { node { goingCount } } } } }",
        {"id": str(theirs.campaign.id)},
        token=w.theirs.token(),
    )
    assert body["data"]["campaign"]["events"]["edges"][0]["node"]["goingCount"] == 0


CASES: dict[str, Any] = {
    "followUps": follow_ups,
    "createFollowUp": create_follow_up,
    "completeFollowUp": complete_follow_up,
    "cancelFollowUp": cancel_follow_up,
    "rescheduleFollowUp": reschedule_follow_up,
    "createEvent": create_event,
    "rsvpEvent": rsvp_event,
}
