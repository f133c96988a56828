"""Events of a campaign: who may add one, RSVPs that change, goingCount and myRsvp."""

from __future__ import annotations

from typing import Any

from server.core.enums import Role
from server.core.services import Services
from tests import seed_followups as seed
from tests.conftest import GraphQLClient


def _codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def test_create_list_and_rsvp(gql: GraphQLClient, make_org: Any, services: Services) -> None:
    org = await make_org("Alpha")
    other = await make_org("Beta")
    organiser, trainer = org.members[Role.ORGANISER], org.members[Role.TRAINER]
    bins = await seed.campaign(services, org, organiser, trainer)
    parks = await seed.campaign(services, org, trainer, title="Parks")
    base = {"campaignId": str(bins.id), "kind": "HOUSE_MEETING"}

    async def create(role: Role, **fields: Any) -> dict[str, Any]:
        data = await gql.op("CreateEvent", {"input": {**base, **fields}}, token=org.token(role))
        result: dict[str, Any] = data["createEvent"]
        return result

    later = await create(
        Role.ORGANISER,
        title=" Meeting at Ada's ",
        startsAt="2026-12-02T18:00:00Z",
        endsAt="2026-12-02T19:30:00+00:00",
        location="12 High St",
    )
    assert later["userErrors"] == []
    assert later["event"]["title"] == "Meeting at Ada's"
    sooner = await create(
        Role.SENIOR_ORGANISER, kind="ACTION", title="Bin day", startsAt="2026-12-01T09:00:00Z"
    )
    assert sooner["userErrors"] == []
    bad = await create(
        Role.ORGANISER, title=" ", startsAt="2026-12-02T18:00:00Z", endsAt="2026-12-02T17:00:00Z"
    )
    assert _codes(bad) == [("input.title", "REQUIRED"), ("input.endsAt", "INVALID")]
    # Parks is not assigned to the organiser; another organisation does not see Bins.
    unseen = await create(
        Role.ORGANISER, campaignId=str(parks.id), title="x", startsAt="2026-12-01T09:00:00Z"
    )
    assert _codes(unseen) == [("input.campaignId", "NOT_FOUND")]
    data = await gql.op(
        "CreateEvent",
        {"input": {**base, "title": "x", "startsAt": "2026-12-01T09:00:00Z"}},
        token=other.token(),
    )
    assert _codes(data["createEvent"]) == [("input.campaignId", "NOT_FOUND")]

    event_id = later["event"]["id"]

    async def rsvp(role: Role, status: str, token: str | None = None) -> dict[str, Any]:
        data = await gql.op(
            "RsvpEvent", {"eventId": event_id, "status": status}, token=token or org.token(role)
        )
        result: dict[str, Any] = data["rsvpEvent"]
        return result

    assert (await rsvp(Role.ORGANISER, "GOING"))["event"] == {
        "id": event_id,
        "goingCount": 1,
        "myRsvp": "GOING",
    }
    assert (await rsvp(Role.TRAINER, "GOING"))["event"]["goingCount"] == 2
    # Changed, not added: still one answer per member.
    assert (await rsvp(Role.ORGANISER, "MAYBE"))["event"] == {
        "id": event_id,
        "goingCount": 1,
        "myRsvp": "MAYBE",
    }
    assert _codes(await rsvp(Role.ADMIN, "GOING", token=other.token())) == [
        ("eventId", "NOT_FOUND")
    ]
    in_parks = await create(
        Role.TRAINER, campaignId=str(parks.id), title="Parks walk", startsAt="2026-12-03T10:00:00Z"
    )
    data = await gql.op(
        "RsvpEvent",
        {"eventId": in_parks["event"]["id"], "status": "GOING"},
        token=org.token(Role.ORGANISER),
    )
    assert _codes(data["rsvpEvent"]) == [("eventId", "NOT_FOUND")]
    data = await gql.op(
        "RsvpEvent", {"eventId": "nope", "status": "GOING"}, token=org.token(Role.ORGANISER)
    )
    assert _codes(data["rsvpEvent"]) == [("eventId", "NOT_FOUND")]

    listed = await gql.op(
        "CampaignEvents", {"campaignId": str(bins.id)}, token=org.token(Role.TRAINER)
    )
    nodes = [e["node"] for e in listed["campaign"]["events"]["edges"]]
    assert nodes == [
        {
            "id": sooner["event"]["id"],
            "kind": "ACTION",
            "title": "Bin day",
            "startsAt": "2026-12-01T09:00:00Z",
            "endsAt": None,
            "location": None,
            "goingCount": 0,
            "myRsvp": None,
        },
        {
            "id": event_id,
            "kind": "HOUSE_MEETING",
            "title": "Meeting at Ada's",
            "startsAt": "2026-12-02T18:00:00Z",
            "endsAt": "2026-12-02T19:30:00Z",
            "location": "12 High St",
            "goingCount": 1,
            "myRsvp": "GOING",
        },
    ]
