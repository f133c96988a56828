"""Follow-ups: idempotent create, who may be assigned and change them, reminders that
follow the follow-up, escalation, the digest section, the list and its cost."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import Area, User, UserArea
from server.campaigns.enums import CampaignStatus, FollowUpStatus
from server.campaigns.followups import FOLLOW_UP_DUE, FOLLOW_UP_OVERDUE
from server.campaigns.models import FollowUp
from server.core.enums import Role
from server.core.models import utcnow
from server.core.queue import create_queue
from server.core.services import Services
from server.domains import REGISTRY
from server.notifications.models import (
    Notification,
    NotificationKind,
    NotificationPreference,
    Reminder,
    ReminderStatus,
)
from server.notifications.reminders import fire
from tests import seed_followups as seed
from tests.conftest import GraphQLClient, Org, QueryCounter
from workers.runtime import Runtime


@pytest.fixture
async def runtime(services: Services) -> AsyncIterator[Runtime]:
    queue = create_queue(services.settings)
    await queue.connect()
    yield Runtime(services=services, queue=queue, channels={})
    await queue.disconnect()


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _create(gql: GraphQLClient, org: Org, role: Role, **fields: Any) -> dict[str, Any]:
    data = await gql.op("CreateFollowUp", {"input": fields}, token=org.token(role))
    result: dict[str, Any] = data["createFollowUp"]
    return result


def _codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def _reminders(services: Services, subject: str) -> list[tuple[str, datetime, str]]:
    async with services.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(Reminder)
                .where(col(Reminder.subject_id) == uuid.UUID(subject))
                .order_by(col(Reminder.created_at), col(Reminder.kind))
            )
        ).all()
    return [(r.kind, r.fire_at, r.status.value) for r in rows]


async def _notifications(services: Services) -> list[tuple[uuid.UUID, NotificationKind, str]]:
    async with services.db.session() as session:
        rows = (await session.scalars(sa.select(Notification))).all()
    return sorted((n.user_id, n.kind, n.title) for n in rows)


async def test_create_is_idempotent_and_checks_assignee_campaign_and_links(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    other = await make_org("Beta")
    organiser, trainer = org.members[Role.ORGANISER], org.members[Role.TRAINER]
    bins = await seed.campaign(services, org, organiser, trainer)
    parks = await seed.campaign(services, org, trainer, title="Parks")
    closed = await seed.campaign(services, org, organiser, status=CampaignStatus.CLOSED)
    met = await seed.conversation(services, org, bins, organiser, "Ada")
    elsewhere = await seed.conversation(services, org, parks, trainer, "Bo")
    theirs = await seed.follow_up(
        services,
        await seed.campaign(services, other, other.members[Role.ORGANISER]),
        other.members[Role.ORGANISER],
        utcnow(),
    )
    due = utcnow() + timedelta(days=2)
    base = {"campaignId": str(bins.id), "dueAt": _at(due)}

    first_id = str(uuid.uuid4())
    created = await _create(gql, org, Role.ORGANISER, id=first_id, note="Call back", **base)
    assert created == {
        "followUp": {"id": first_id, "dueAt": _at(due), "status": "OPEN"},
        "userErrors": [],
    }
    # The same id again (even with other values) is the same follow-up, stored once.
    later = {**base, "dueAt": _at(due + timedelta(days=1))}
    again = await _create(gql, org, Role.ORGANISER, id=first_id, **later)
    assert again["followUp"] == created["followUp"]
    assert len(await _reminders(services, first_id)) == 2
    done = await gql.op(
        "CompleteFollowUp", {"id": first_id, "outcome": "Spoke"}, token=org.token(Role.ORGANISER)
    )
    assert done["completeFollowUp"]["followUp"]["status"] == "DONE"
    replayed = await _create(gql, org, Role.ORGANISER, id=first_id, **later)
    assert replayed["followUp"] == {**created["followUp"], "status": "DONE"}
    async with services.db.session() as session:
        stored = await session.get(FollowUp, uuid.UUID(first_id))
        assert stored is not None and stored.assignee_id == organiser.id
        assert stored.outcome == "Spoke" and stored.due_at == due

    # Another organiser of the campaign may be assigned; an unassigned member may not.
    to_trainer = await _create(
        gql, org, Role.ORGANISER, id=str(uuid.uuid4()), assigneeId=str(trainer.id), **base
    )
    assert to_trainer["userErrors"] == []
    refusals = {
        "input.id": {"id": str(theirs.id)},
        "input.assigneeId": {"assigneeId": str(org.members[Role.ADMIN].id)},
        "input.conversationId": {"conversationId": str(elsewhere.id)},
        "input.residentId": {"residentId": str(elsewhere.resident_id)},
    }
    for field, change in refusals.items():
        refused = await _create(
            gql, org, Role.ORGANISER, **{"id": str(uuid.uuid4()), **base, **change}
        )
        assert refused["followUp"] is None and _codes(refused) == [(field, "NOT_FOUND")], field
    # The organiser is not assigned to Parks: it does not exist for them.
    unseen = await _create(
        gql, org, Role.ORGANISER, id=str(uuid.uuid4()), campaignId=str(parks.id), dueAt=_at(due)
    )
    assert _codes(unseen) == [("input.campaignId", "NOT_FOUND")]
    shut = await _create(
        gql, org, Role.ORGANISER, id=str(uuid.uuid4()), campaignId=str(closed.id), dueAt=_at(due)
    )
    assert _codes(shut) == [("input.campaignId", "CLOSED")]
    linked = await _create(
        gql,
        org,
        Role.ORGANISER,
        id=str(uuid.uuid4()),
        conversationId=str(met.id),
        residentId=str(met.resident_id),
        **base,
    )
    assert linked["userErrors"] == []
    async with services.db.session() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(FollowUp))
    assert count == 4  # Theirs, the first, the trainer's and the linked one


async def test_who_may_change_a_follow_up_and_only_while_open(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    other = await make_org("Beta")
    organiser, trainer = org.members[Role.ORGANISER], org.members[Role.TRAINER]
    bins = await seed.campaign(services, org, organiser, trainer)
    mine = await seed.follow_up(services, bins, organiser, utcnow() + timedelta(days=1))
    other_token = other.token(Role.ADMIN)
    soon = _at(utcnow() + timedelta(days=3))

    async def run(op: str, role: Role, **variables: Any) -> dict[str, Any]:
        data = await gql.op(op, {"id": str(mine.id), **variables}, token=org.token(role))
        return next(iter(data.values()))

    # A co-organiser sees it but may not change it; another organisation does not see it.
    assert _codes(await run("CancelFollowUp", Role.TRAINER)) == [("id", "FORBIDDEN")]
    foreign = await gql.op("CancelFollowUp", {"id": str(mine.id)}, token=other_token)
    assert _codes(foreign["cancelFollowUp"]) == [("id", "NOT_FOUND")]
    malformed = await gql.op("CancelFollowUp", {"id": "nope"}, token=org.token())
    assert _codes(malformed["cancelFollowUp"]) == [("id", "NOT_FOUND")]

    moved = await run("RescheduleFollowUp", Role.SENIOR_ORGANISER, dueAt=soon)
    assert moved == {
        "followUp": {"id": str(mine.id), "dueAt": soon, "status": "OPEN"},
        "userErrors": [],
    }
    done = await run("CompleteFollowUp", Role.ORGANISER, outcome="  Sorted  ")
    assert done["followUp"]["outcome"] == "Sorted" and done["followUp"]["completedAt"]
    assert _codes(await run("CompleteFollowUp", Role.ORGANISER)) == [("id", "ALREADY_DONE")]
    assert _codes(await run("CancelFollowUp", Role.ADMIN)) == [("id", "ALREADY_DONE")]

    second = await seed.follow_up(services, bins, trainer, utcnow() + timedelta(days=1))
    data = await gql.op(
        "CancelFollowUp",
        {"id": str(second.id), "reason": "Moved away"},
        token=org.token(Role.TRAINER),
    )
    assert data["cancelFollowUp"] == {
        "followUp": {"id": str(second.id), "status": "CANCELLED"},
        "userErrors": [],
    }
    data = await gql.op(
        "RescheduleFollowUp", {"id": str(second.id), "dueAt": soon}, token=org.token(Role.TRAINER)
    )
    assert _codes(data["rescheduleFollowUp"]) == [("id", "CLOSED")]


async def test_reminders_follow_the_follow_up(
    gql: GraphQLClient, make_org: Any, services: Services, runtime: Runtime
) -> None:
    org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    bins = await seed.campaign(services, org, organiser)
    due = (utcnow() + timedelta(hours=5)).replace(microsecond=0)
    follow_up_id = str(uuid.uuid4())
    created = await _create(
        gql,
        org,
        Role.ORGANISER,
        id=follow_up_id,
        campaignId=str(bins.id),
        dueAt=_at(due),
        note="Ring Ada",
    )
    assert created["userErrors"] == []
    due_kind, overdue_kind = FOLLOW_UP_DUE.name, FOLLOW_UP_OVERDUE.name
    assert sorted(await _reminders(services, follow_up_id)) == sorted(
        [
            (due_kind, due - timedelta(hours=1), "PENDING"),
            (overdue_kind, due + timedelta(hours=48), "PENDING"),
        ]
    )
    async with services.db.session() as session:
        old = {r.kind: r.id for r in (await session.scalars(sa.select(Reminder))).all()}

    # Rescheduling moves both: the old ones fire into nothing.
    new_due = due + timedelta(days=1)
    data = await gql.op(
        "RescheduleFollowUp",
        {"id": follow_up_id, "dueAt": _at(new_due)},
        token=org.token(Role.ORGANISER),
    )
    assert data["rescheduleFollowUp"]["userErrors"] == []
    pending = [r for r in await _reminders(services, follow_up_id) if r[2] == "PENDING"]
    assert sorted(pending) == sorted(
        [
            (due_kind, new_due - timedelta(hours=1), "PENDING"),
            (overdue_kind, new_due + timedelta(hours=48), "PENDING"),
        ]
    )
    assert await fire(runtime, old[due_kind], now=due) == "nothing to do"
    async with services.db.session() as session:
        new = {
            r.kind: r.id
            for r in (await session.scalars(sa.select(Reminder))).all()
            if r.status is ReminderStatus.PENDING
        }
    assert await fire(runtime, new[due_kind], now=new_due - timedelta(hours=1)) == "1 notifications"
    assert await _notifications(services) == [
        (organiser.id, NotificationKind.FOLLOW_UP_DUE, f"Follow-up due {new_due:%d %b %H:%M} UTC")
    ]

    # Completed: the escalation is cancelled and never fires.
    data = await gql.op("CompleteFollowUp", {"id": follow_up_id}, token=org.token(Role.ORGANISER))
    assert data["completeFollowUp"]["userErrors"] == []
    assert (
        await fire(runtime, new[overdue_kind], now=new_due + timedelta(days=3)) == "nothing to do"
    )
    assert len(await _notifications(services)) == 1

    # A follow-up closed behind the reminders' back: the resolver re-checks and says nothing.
    quiet = await seed.follow_up(services, bins, organiser, utcnow() + timedelta(hours=2))
    async with services.db.session() as session:
        from server.campaigns.followups import schedule_follow_up_reminders

        row = await session.get(FollowUp, quiet.id)
        assert row is not None
        await schedule_follow_up_reminders(session, row)
        row.status = FollowUpStatus.DONE
        await session.commit()
        quiet_ids = (
            await session.scalars(
                sa.select(col(Reminder.id)).where(col(Reminder.subject_id) == quiet.id)
            )
        ).all()
    for reminder_id in quiet_ids:
        assert (
            await fire(runtime, reminder_id, now=utcnow() + timedelta(days=3)) == "0 notifications"
        )
    assert len(await _notifications(services)) == 1


async def test_escalation_after_48_hours_goes_to_the_areas_senior_organisers(
    make_org: Any, services: Services, runtime: Runtime
) -> None:
    org = await make_org("Alpha")
    organiser, senior = org.members[Role.ORGANISER], org.members[Role.SENIOR_ORGANISER]
    async with services.db.session() as session:
        estate = Area(organisation_id=org.organisation.id, parent_id=org.area.id, name="Estate")
        elsewhere = Area(organisation_id=org.organisation.id, name="Elsewhere")
        session.add_all([estate, elsewhere])
        await session.flush()
        far = User(
            organisation_id=org.organisation.id,
            email="far@alpha.test",
            display_name="Far Senior",
            role=Role.SENIOR_ORGANISER,
            password_hash="x",
        )
        session.add(far)
        await session.flush()
        session.add_all(
            [
                UserArea(user_id=senior.id, area_id=org.area.id),
                UserArea(user_id=far.id, area_id=elsewhere.id),
            ]
        )
        await session.commit()
    in_estate = await seed.campaign(services, org, organiser, area_id=estate.id)
    nowhere = await seed.campaign(services, org, organiser, title="Citywide")
    due = utcnow() + timedelta(hours=2)
    ids = {}
    async with services.db.session() as session:
        from server.campaigns.followups import schedule_follow_up_reminders

        for name, campaign in (("estate", in_estate), ("nowhere", nowhere)):
            follow_up = FollowUp(
                organisation_id=org.organisation.id,
                campaign_id=campaign.id,
                assignee_id=organiser.id,
                created_by_id=organiser.id,
                due_at=due,
            )
            session.add(follow_up)
            await session.flush()
            await schedule_follow_up_reminders(session, follow_up)
            ids[name] = follow_up.id
        await session.commit()
        overdue = {
            r.subject_id: r.id
            for r in (
                await session.scalars(
                    sa.select(Reminder).where(col(Reminder.kind) == FOLLOW_UP_OVERDUE.name)
                )
            ).all()
        }

    assert await fire(runtime, overdue[ids["estate"]], now=due + timedelta(hours=47)) == "not yet"
    assert (
        await fire(runtime, overdue[ids["estate"]], now=due + timedelta(hours=48))
        == "1 notifications"
    )
    title = f"Follow-up overdue: {organiser.display_name}"
    assert await _notifications(services) == [
        (senior.id, NotificationKind.FOLLOW_UP_OVERDUE, title)
    ]
    # A campaign without an area is the organisation's: all its senior organisers hear.
    await fire(runtime, overdue[ids["nowhere"]], now=due + timedelta(hours=48))
    told = [n[0] for n in await _notifications(services)]
    assert sorted(told) == sorted([senior.id, senior.id, far.id])
    async with services.db.session() as session:
        escalated = await session.get(FollowUp, ids["estate"])
        assert escalated is not None and escalated.escalated_at is not None


async def test_digest_lists_open_follow_ups_due_on_the_local_day(
    make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    organiser, trainer = org.members[Role.ORGANISER], org.members[Role.TRAINER]
    bins = await seed.campaign(services, org, organiser, trainer, title="Bins")
    day = date(2026, 7, 1)  # London is on BST, UTC+1
    for due, who, note, status in (
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), organiser, "Early", FollowUpStatus.OPEN),
        (datetime(2026, 7, 1, 8, 30, tzinfo=UTC), organiser, "Ring Ada", FollowUpStatus.OPEN),
        (datetime(2026, 7, 1, 9, 0, tzinfo=UTC), organiser, "Done one", FollowUpStatus.DONE),
        (datetime(2026, 7, 1, 9, 0, tzinfo=UTC), trainer, "Not mine", FollowUpStatus.OPEN),
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), organiser, "Tomorrow", FollowUpStatus.OPEN),
    ):
        await seed.follow_up(services, bins, who, due, note=note, status=status)
    section = REGISTRY.digest_sections["campaigns.follow_ups_due_today"]
    async with services.db.session() as session:
        session.add(NotificationPreference(user_id=organiser.id, timezone="Europe/London"))
        await session.commit()
        lines = await section.lines(session, organiser, day)
        assert await section.lines(session, org.members[Role.ADMIN], day) == []
    assert lines == ["Follow-ups due today:", "- 00:30 (Bins) Early", "- 09:30 (Bins) Ring Ada"]


MY_FOLLOW_UPS_EVERYTHING = """
query Everything($mine: Boolean, $status: [FollowUpStatus!]) {
  followUps(filter: {mine: $mine, status: $status}, first: 100) {
    totalCount
    edges { node { id status assignee { id } } }
  }
}
"""


async def test_lists_show_whose_follow_ups_with_overdue_computed_when_read(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    organiser, trainer = org.members[Role.ORGANISER], org.members[Role.TRAINER]
    bins = await seed.campaign(services, org, organiser, trainer, title="Bins")
    parks = await seed.campaign(services, org, trainer, title="Parks")
    met = await seed.conversation(services, org, bins, organiser, "Ada")
    now = utcnow()
    past = await seed.follow_up(
        services, bins, organiser, now - timedelta(minutes=1), conversation=met
    )
    soon = await seed.follow_up(services, bins, organiser, now + timedelta(minutes=5), note="Soon")
    await seed.follow_up(
        services, bins, organiser, now - timedelta(days=1), status=FollowUpStatus.DONE
    )
    theirs_in_bins = await seed.follow_up(services, bins, trainer, now)
    in_parks = await seed.follow_up(services, parks, trainer, now)

    data = await gql.op("MyFollowUps", token=org.token(Role.ORGANISER))
    page = data["followUps"]
    assert page["totalCount"] == 2
    nodes = [e["node"] for e in page["edges"]]
    assert nodes == [
        {
            "id": str(past.id),
            "dueAt": _at(past.due_at),
            "note": None,
            "status": "OPEN",
            "overdue": True,
            "resident": {"id": str(met.resident_id), "name": "Ada"},
            "conversation": {"id": str(met.id)},
            "campaign": {"id": str(bins.id), "title": "Bins"},
        },
        {
            "id": str(soon.id),
            "dueAt": _at(soon.due_at),
            "note": "Soon",
            "status": "OPEN",
            "overdue": False,
            "resident": None,
            "conversation": None,
            "campaign": {"id": str(bins.id), "title": "Bins"},
        },
    ]

    # Without mine: an organiser sees their campaigns' follow-ups, staff the organisation's.
    async def ids(role: Role, **variables: Any) -> set[str]:
        data = await gql(MY_FOLLOW_UPS_EVERYTHING, variables, token=org.token(role))
        return {e["node"]["id"] for e in data["followUps"]["edges"]}

    assert await ids(Role.ORGANISER, status=["OPEN"]) == {
        str(past.id),
        str(soon.id),
        str(theirs_in_bins.id),
    }
    assert len(await ids(Role.ORGANISER)) == 4
    assert await ids(Role.TRAINER, mine=True) == {str(theirs_in_bins.id), str(in_parks.id)}
    assert len(await ids(Role.SENIOR_ORGANISER)) == 5


async def _seed_mine(services: Services, org: Org, n: int) -> None:
    organiser = org.members[Role.ORGANISER]
    for c in range(2):
        campaign = await seed.campaign(services, org, organiser, title=f"Campaign {c}")
        for i in range(n // 2):
            talk = await seed.conversation(services, org, campaign, organiser, f"Resident {i}")
            await seed.follow_up(
                services, campaign, organiser, utcnow() + timedelta(hours=i), conversation=talk
            )


async def test_my_follow_ups_cost_does_not_grow_with_the_list(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    counts = []
    for n in (4, 50):
        org = await make_org()
        await _seed_mine(services, org, n)
        await gql.op("MyFollowUps", token=org.token(Role.ORGANISER))  # the session check warms
        count_queries.statements.clear()
        data = await gql.op("MyFollowUps", token=org.token(Role.ORGANISER))
        assert len(data["followUps"]["edges"]) == n
        assert all(e["node"]["resident"]["name"] for e in data["followUps"]["edges"])
        counts.append(count_queries.count)
    # The page, its count, and one batch each of campaigns, conversations and residents.
    assert counts[0] == counts[1], "\n".join(count_queries.statements)
    assert counts[1] == 5, "\n".join(count_queries.statements)
