"""In-app notifications, preferences, quiet hours, reminders, escalation and digests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Area, Device, User, UserArea
from server.core.enums import Platform, PushProvider, Role
from server.core.manifest import DigestSection, Domain, Registry, ReminderKind
from server.core.queue import create_queue
from server.core.services import Services
from server.domains import DOMAINS
from server.notifications import reminders
from server.notifications.digests import send_due_digests
from server.notifications.models import (
    ChannelName,
    Delivery,
    Notification,
    NotificationPreference,
    Reminder,
    ReminderStatus,
)
from server.notifications.notify import stage_notification
from server.notifications.recipients import senior_organisers_for_area
from server.notifications.reminders import fire
from server.notifications.service import create_notifications
from server.notifications.spec import NotifySpec
from server.outbox.models import OutboxMessage
from workers.outbox import handle_outbox, relay_once
from workers.runtime import Runtime

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
async def runtime(services: Services) -> AsyncIterator[Runtime]:
    queue = create_queue(services.settings)
    await queue.connect()
    # The real domains, and a test domain as campaigns and training will declare theirs.
    registry = Registry.gather((*DOMAINS, TEST_DOMAIN))
    yield Runtime(services=services, queue=queue, channels={}, registry=registry)
    await queue.disconnect()


async def _spec_for(org: Any, *roles: Role, key: str = "event-1", **kw: Any) -> NotifySpec:
    return NotifySpec(
        organisation_id=org.organisation.id,
        user_ids=[org.members[r].id for r in roles],
        template=kw.pop("template", "system"),
        event_key=key,
        params=kw.pop("params", {"title": "Hello", "body": "Welcome"}),
        **kw,
    )


async def _notify(
    services: Services, spec: NotifySpec, now: datetime | None = None
) -> list[Notification]:
    async with services.db.session() as session:
        created = await create_notifications(session, spec, now)
        await session.commit()
    return created


async def test_my_notifications_lists_only_mine_newest_first(gql, make_org, services):
    org = await make_org("Alpha")
    other = await make_org("Beta")
    for i in range(3):
        await _notify(
            services,
            await _spec_for(
                org, Role.ORGANISER, key=f"e{i}", params={"title": f"T{i}", "body": "b"}
            ),
            NOON + timedelta(minutes=i),
        )
    await _notify(services, await _spec_for(other, Role.ORGANISER, key="x"))
    await _notify(services, await _spec_for(org, Role.ADMIN, key="y"))

    data = await gql.op("MyNotifications", {"first": 2}, token=org.token(Role.ORGANISER))
    page = data["notifications"]
    assert page["unreadCount"] == 3
    assert [e["node"]["title"] for e in page["edges"]] == ["T2", "T1"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql.op(
        "MyNotifications", {"after": page["pageInfo"]["endCursor"]}, token=org.token(Role.ORGANISER)
    )
    assert [e["node"]["title"] for e in rest["notifications"]["edges"]] == ["T0"]


async def test_mark_read_counts_and_refuses_others(gql, make_org, services):
    org = await make_org("Alpha")
    mine = await _notify(services, await _spec_for(org, Role.ORGANISER, key="a"))
    await _notify(services, await _spec_for(org, Role.ORGANISER, key="b"))
    theirs = await _notify(services, await _spec_for(org, Role.ADMIN, key="c"))
    token = org.token(Role.ORGANISER)

    refused = await gql.op(
        "MarkNotificationsRead", {"ids": [str(mine[0].id), str(theirs[0].id)]}, token=token
    )
    assert refused["markNotificationsRead"]["userErrors"] == [
        {"field": "ids.1", "message": "No such notification.", "code": "NOT_FOUND"}
    ]
    done = await gql.op("MarkNotificationsRead", {"ids": [str(mine[0].id)]}, token=token)
    assert done["markNotificationsRead"] == {"unreadCount": 1, "userErrors": []}
    unread = await gql.op("MyNotifications", {"unreadOnly": True}, token=token)
    assert [e["node"]["id"] for e in unread["notifications"]["edges"]] != [str(mine[0].id)]
    assert unread["notifications"]["unreadCount"] == 1
    admin_view = await gql.op("MyNotifications", token=org.token(Role.ADMIN))
    assert admin_view["notifications"]["edges"][0]["node"]["readAt"] is None


async def test_update_preferences_validates_and_shows_on_me(gql, make_org):
    org = await make_org("Alpha")
    token = org.token(Role.ORGANISER)
    bad = await gql.op(
        "UpdateNotificationPreferences",
        {"input": {"quietHoursStart": "25:00", "timezone": "Mars/Olympus"}},
        token=token,
    )
    codes = {(e["field"], e["code"]) for e in bad["updateNotificationPreferences"]["userErrors"]}
    assert codes == {("input.quietHoursStart", "INVALID"), ("input.timezone", "INVALID")}
    half = await gql.op(
        "UpdateNotificationPreferences", {"input": {"quietHoursStart": "22:00"}}, token=token
    )
    assert half["updateNotificationPreferences"]["userErrors"][0]["code"] == "REQUIRED"

    ok = await gql.op(
        "UpdateNotificationPreferences",
        {
            "input": {
                "quietHoursStart": "22:00",
                "quietHoursEnd": "07:30",
                "timezone": "Europe/London",
                "smsEnabled": True,
                "digest": "DAILY",
            }
        },
        token=token,
    )
    prefs = ok["updateNotificationPreferences"]["notificationPreferences"]
    assert prefs["quietHoursEnd"] == "07:30" and prefs["digest"] == "DAILY"
    me = await gql.op("Me", token=token)
    assert me["me"]["notificationPreferences"] == prefs


async def _add_device(
    services: Services, user: User, token: str, provider: PushProvider = PushProvider.EXPO
) -> Device:
    async with services.db.session() as session:
        device = Device(user_id=user.id, platform=Platform.ANDROID, provider=provider, token=token)
        session.add(device)
        await session.commit()
    return device


async def _deliveries(session: AsyncSession) -> list[Delivery]:
    return list((await session.scalars(sa.select(Delivery))).all())


async def test_channels_follow_preferences_and_quiet_hours_defer_push(make_org, services):
    org = await make_org("Alpha")
    user = org.members[Role.ORGANISER]
    await _add_device(services, user, "ExponentPushToken[a]")
    async with services.db.session() as session:
        session.add(
            NotificationPreference(
                user_id=user.id,
                quiet_hours_start="22:00",
                quiet_hours_end="07:00",
                timezone="Europe/London",
            )
        )
        await session.commit()
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT)
    await _notify(
        services,
        await _spec_for(
            org,
            Role.ORGANISER,
            template="follow_up_overdue",
            params={"organiser": "Olu", "due": "Monday"},
        ),
        late,
    )
    async with services.db.session() as session:
        by_channel = {d.channel: d for d in await _deliveries(session)}
    assert set(by_channel) == {ChannelName.EXPO, ChannelName.EMAIL}
    assert by_channel[ChannelName.EXPO].next_attempt_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert by_channel[ChannelName.EMAIL].next_attempt_at == late

    async with services.db.session() as session:
        prefs = await session.scalar(sa.select(NotificationPreference))
        assert prefs is not None
        prefs.push_enabled = False
        await session.commit()
    await _notify(
        services,
        await _spec_for(org, Role.ORGANISER, key="second", template="follow_up_overdue"),
        NOON,
    )
    async with services.db.session() as session:
        rows = [d for d in await _deliveries(session) if d.next_attempt_at == NOON]
    assert [d.channel for d in rows] == [ChannelName.EMAIL]


async def test_same_event_twice_notifies_once(make_org, services, runtime):
    org = await make_org("Alpha")
    spec = await _spec_for(org, Role.ORGANISER, Role.TRAINER, key="campaign-1-activated")
    async with services.db.session() as session:
        stage_notification(session, spec)
        await session.commit()
    assert await relay_once(runtime) == 1
    async with services.db.session() as session:
        row = await session.scalar(sa.select(OutboxMessage))
        assert row is not None and row.dispatched_at is not None
    await handle_outbox(runtime, outbox_id=str(row.id))
    # A second delivery of the same job (at-least-once) and a replay of the event.
    await handle_outbox(runtime, outbox_id=str(row.id))
    await _notify(services, spec)
    async with services.db.session() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(Notification))
    assert count == 2


async def test_outbox_waits_while_redis_is_down(make_org, services):
    org = await make_org("Alpha")
    async with services.db.session() as session:
        stage_notification(session, await _spec_for(org, Role.ORGANISER))
        await session.commit()
    dead = services.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    queue = create_queue(dead)
    down = Runtime(services=services, queue=queue, channels={})
    with pytest.raises(RedisError):
        await relay_once(down)
    async with services.db.session() as session:
        row = await session.scalar(sa.select(OutboxMessage))
        assert row is not None and row.dispatched_at is None
    await queue.redis.aclose()


# --- reminders ---------------------------------------------------------------------------

SUBJECTS: dict[uuid.UUID, dict[str, Any]] = {}


async def _follow_up_due(session: AsyncSession, reminder: Reminder) -> list[NotifySpec]:
    """A resolver as the follow-ups domain will write it: re-check the subject first."""
    subject = SUBJECTS.get(reminder.subject_id)
    if subject is None or subject["done"]:
        return []
    return [
        NotifySpec(
            organisation_id=reminder.organisation_id,
            user_ids=[subject["user"]],
            template="follow_up_due",
            event_key=f"reminder:{reminder.id}",
            params={"when": "in an hour", "note": subject["note"]},
        )
    ]


FOLLOW_UP_DUE = ReminderKind("test.follow_up_due", _follow_up_due)


@pytest.fixture
def follow_ups() -> Any:
    yield SUBJECTS
    SUBJECTS.clear()


async def _schedule(services: Services, org: Any, subject: uuid.UUID, at: datetime) -> Reminder:
    async with services.db.session() as session:
        reminder = await reminders.schedule(
            session,
            organisation_id=org.organisation.id,
            subject_type="follow_up",
            subject_id=subject,
            kind=FOLLOW_UP_DUE,
            fire_at=at,
        )
        await session.commit()
    return reminder


async def _titles(services: Services) -> list[str]:
    async with services.db.session() as session:
        return list((await session.scalars(sa.select(Notification.title))).all())


async def test_reminder_fires_at_its_time_once(make_org, services, runtime, follow_ups):
    org = await make_org("Alpha")
    subject = uuid.uuid4()
    follow_ups[subject] = {"done": False, "user": org.members[Role.ORGANISER].id, "note": "Call"}
    reminder = await _schedule(services, org, subject, NOON)

    assert await fire(runtime, reminder.id, now=NOON - timedelta(minutes=5)) == "not yet"
    assert await _titles(services) == []
    assert await fire(runtime, reminder.id, now=NOON) == "1 notifications"
    assert await fire(runtime, reminder.id, now=NOON) == "nothing to do"
    assert await _titles(services) == ["Follow-up due in an hour"]


async def test_completed_subject_makes_reminder_silent(make_org, services, runtime, follow_ups):
    org = await make_org("Alpha")
    subject = uuid.uuid4()
    follow_ups[subject] = {"done": True, "user": org.members[Role.ORGANISER].id, "note": ""}
    reminder = await _schedule(services, org, subject, NOON)
    await fire(runtime, reminder.id, now=NOON)
    assert await _titles(services) == []


async def test_moved_reminder_fires_only_at_the_new_time(make_org, services, runtime, follow_ups):
    org = await make_org("Alpha")
    subject = uuid.uuid4()
    follow_ups[subject] = {"done": False, "user": org.members[Role.ORGANISER].id, "note": "x"}
    old = await _schedule(services, org, subject, NOON)
    async with services.db.session() as session:
        new = await reminders.move(
            session,
            organisation_id=org.organisation.id,
            subject_type="follow_up",
            subject_id=subject,
            kind=FOLLOW_UP_DUE,
            fire_at=NOON + timedelta(days=1),
        )
        await session.commit()
    assert await fire(runtime, old.id, now=NOON) == "nothing to do"
    assert await _titles(services) == []
    assert await fire(runtime, new.id, now=NOON + timedelta(days=1)) == "1 notifications"
    async with services.db.session() as session:
        statuses = {r.id: r.status for r in (await session.scalars(sa.select(Reminder))).all()}
    assert statuses == {old.id: ReminderStatus.CANCELLED, new.id: ReminderStatus.FIRED}


async def test_cancelled_reminder_does_nothing(make_org, services, runtime, follow_ups):
    org = await make_org("Alpha")
    subject = uuid.uuid4()
    follow_ups[subject] = {"done": False, "user": org.members[Role.ORGANISER].id, "note": "x"}
    reminder = await _schedule(services, org, subject, NOON)
    async with services.db.session() as session:
        assert await reminders.cancel(session, "follow_up", subject) == 1
        await session.commit()
    assert await fire(runtime, reminder.id, now=NOON) == "nothing to do"
    assert await _titles(services) == []


async def test_escalation_reaches_senior_organisers_of_the_area_and_above(make_org, services):
    org = await make_org("Alpha")
    other = await make_org("Beta")
    async with services.db.session() as session:
        estate = Area(organisation_id=org.organisation.id, parent_id=org.area.id, name="Estate")
        session.add(estate)
        await session.flush()
        session.add(UserArea(user_id=org.members[Role.SENIOR_ORGANISER].id, area_id=org.area.id))
        session.add(UserArea(user_id=org.members[Role.ORGANISER].id, area_id=estate.id))
        await session.commit()
        found = await senior_organisers_for_area(session, org.organisation.id, estate.id)
        assert found == [org.members[Role.SENIOR_ORGANISER].id]
        assert await senior_organisers_for_area(session, other.organisation.id, estate.id) == []


# --- digests -----------------------------------------------------------------------------


async def _behind(session: AsyncSession, user: User, day: date) -> list[str]:
    return [f"2 trainees are behind ({day.isoformat()})"] if user.role is Role.TRAINER else []


TEST_DOMAIN = Domain(
    name="test",
    reminders=(FOLLOW_UP_DUE,),
    digest_sections=(DigestSection("test.behind", _behind),),
)


@pytest.fixture
def trainer_section() -> None:
    """The test domain's digest section (in the runtime's registry) says something."""


async def test_digest_goes_at_seven_local_to_those_with_something_to_say(
    make_org, services, runtime, trainer_section
):
    org = await make_org("Alpha")
    trainer = org.members[Role.TRAINER]
    async with services.db.session() as session:
        session.add(
            NotificationPreference(user_id=trainer.id, digest="DAILY", timezone="Europe/London")
        )
        await session.commit()
    tuesday_7am = datetime(2026, 11, 24, 7, 5, tzinfo=UTC)
    assert await send_due_digests(runtime, now=tuesday_7am - timedelta(hours=1)) == 0
    assert await send_due_digests(runtime, now=tuesday_7am) == 1
    assert await send_due_digests(runtime, now=tuesday_7am) == 0  # once per day
    async with services.db.session() as session:
        digest = await session.scalar(sa.select(Notification))
        assert digest is not None and digest.user_id == trainer.id
        assert "2 trainees are behind (2026-11-24)" in digest.body
        channels = {d.channel for d in await _deliveries(session)}
    assert channels == {ChannelName.EMAIL}


async def test_weekly_digest_only_on_mondays(make_org, services, runtime, trainer_section):
    await make_org("Alpha")  # trainers default to a weekly digest
    monday_7am = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert await send_due_digests(runtime, now=monday_7am + timedelta(days=1)) == 0
    assert await send_due_digests(runtime, now=monday_7am) == 1
