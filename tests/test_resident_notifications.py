"""Residents (no account) as recipients: outbox -> saq on Redis -> dispatch -> the fake
SMTP and Twilio servers over real sockets, with members' retries, dead letters, status
callbacks and ledger, and never an inbox entry or a push."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from server.core.enums import Role
from server.core.models import utcnow
from server.core.pagination import PageRequest
from server.core.services import Services
from server.core.settings import Settings
from server.notifications import deliveries
from server.notifications.failures import list_failures, requeue_dead
from server.notifications.models import ChannelName, Delivery, DeliveryStatus, Notification
from server.notifications.notify import stage_notification, stage_notification_once
from server.notifications.resident_rights import (
    cancel_pending_for_resident,
    erase_resident_addresses,
)
from server.notifications.rows import CHUNK
from server.notifications.service import create_notifications
from server.notifications.spec import NotifySpec, ResidentRecipient
from server.notifications.twilio import apply_status_callback
from server.outbox.models import OutboxMessage
from tests.fakes.expo import FakeExpo
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio
from tests.helpers import add_organisers, eventually, running_worker
from workers.runtime import Runtime

EMAIL = "rosa@example.test"
PHONE = "+447700900123"
OTHER_PHONE = "+447700900456"

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture
def settings(
    settings: Settings, fake_smtp: FakeSmtp, fake_twilio: FakeTwilio, fake_expo: FakeExpo
) -> Settings:
    return settings.model_copy(
        update={
            "delivery": "live",
            "relay_interval_seconds": 0.05,
            "sweep_interval_seconds": 1,
            "delivery_backoff_seconds": 0.2,
            "delivery_max_attempts": 3,
            **fake_smtp.settings(),
            **fake_twilio.settings(),
            **fake_expo.settings(),
        }
    )


@pytest.fixture
async def worker(settings: Settings, services: Services) -> AsyncIterator[Runtime]:
    async with running_worker(settings, services) as runtime:
        yield runtime


def by_email(resident_id: uuid.UUID, address: str = EMAIL) -> ResidentRecipient:
    return ResidentRecipient(resident_id, ChannelName.EMAIL, address)


def by_sms(resident_id: uuid.UUID, address: str = PHONE) -> ResidentRecipient:
    return ResidentRecipient(resident_id, ChannelName.SMS, address)


def spec(org: Any, residents: list[ResidentRecipient], key: str = "update-1") -> NotifySpec:
    return NotifySpec(
        organisation_id=org.organisation.id,
        user_ids=[],
        template="resident_message",
        event_key=key,
        params={"title": "You said, we did", "body": "The bins are now collected weekly."},
        residents=residents,
    )


async def _stage(services: Services, notify: NotifySpec) -> bool:
    async with services.db.session() as session:
        staged = await stage_notification_once(session, notify)
        await session.commit()
    return staged


async def _statuses(services: Services) -> dict[DeliveryStatus, int]:
    async with services.db.session() as session:
        return await deliveries.count_by_status(session)


async def _deliveries(services: Services) -> dict[str, Delivery]:
    async with services.db.session() as session:
        return {d.address: d for d in (await session.scalars(sa.select(Delivery))).all()}


def _sms_to(fake_twilio: FakeTwilio, phone: str) -> list[str]:
    return [s.form["Body"] for s in fake_twilio.sent if s.form["To"] == phone]


def _mail_to(fake_smtp: FakeSmtp, address: str) -> list[str]:
    texts = []
    for mail in fake_smtp.received:
        if address in mail.rcpt_tos:
            body = mail.message.get_body(preferencelist=("plain",))
            assert body is not None
            texts.append(str(mail.message["Subject"]) + "\n" + body.get_content())
    return texts


async def test_an_email_and_an_sms_reach_residents_and_no_member(
    gql, make_org, services, fake_smtp, fake_twilio, fake_expo, worker
):
    org = await make_org("Alpha")
    await add_organisers(services.db, org.organisation.id, 2)  # members with phones
    rosa, sam = uuid.uuid4(), uuid.uuid4()
    assert await _stage(services, spec(org, [by_email(rosa), by_sms(sam)]))

    async def both_sent() -> bool:
        return (await _statuses(services))[DeliveryStatus.SENT] == 2

    await eventually(both_sent)
    [mail] = _mail_to(fake_smtp, EMAIL)
    assert mail.startswith("You said, we did\n") and "collected weekly" in mail
    assert _sms_to(fake_twilio, PHONE) == ["You said, we did\nThe bins are now collected weekly."]
    # Nothing else went anywhere: no member mail, no push, nobody's inbox.
    assert len(fake_smtp.received) == 1 and len(fake_twilio.sent) == 1 and fake_expo.messages == []
    for role in Role:
        listed = await gql.op("MyNotifications", token=org.token(role))
        assert listed["notifications"] == {
            "unreadCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "edges": [],
        }
    async with services.db.session() as session:
        stored = (await session.scalars(sa.select(Notification))).all()
    assert {n.resident_id for n in stored} == {rosa, sam}
    assert all(n.user_id is None and not n.in_app and n.link is None for n in stored)
    # The staged event no longer holds the addresses once expanded.
    async with services.db.session() as session:
        [row] = (await session.scalars(sa.select(OutboxMessage))).all()
    assert row.processed_at is not None and PHONE not in str(row.payload)
    assert row.payload["resident_count"] == 2

    # Twilio's status callback confirms the resident's SMS as for a member's.
    sms = (await _deliveries(services))[PHONE]
    _, form, _ = fake_twilio.status_callback(sms.provider_id or "", "delivered")
    async with services.db.session() as session:
        assert await apply_status_callback(session, form)
    assert (await _deliveries(services))[PHONE].status is DeliveryStatus.DELIVERED


async def test_the_same_event_staged_or_handled_twice_tells_each_resident_once(
    make_org, services, fake_smtp, fake_twilio, worker
):
    org = await make_org("Alpha")
    rosa, sam = uuid.uuid4(), uuid.uuid4()
    event = spec(org, [by_email(rosa), by_sms(sam), by_sms(sam, OTHER_PHONE)])
    assert await _stage(services, event)
    assert not await _stage(services, event)  # a retried request
    async with services.db.session() as session:
        await create_notifications(session, event)  # a retried job
        await session.commit()

    async def sent() -> bool:
        return (await _statuses(services))[DeliveryStatus.SENT] == 2

    await eventually(sent)
    async with services.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2
    assert len(_mail_to(fake_smtp, EMAIL)) == 1
    # One channel per resident and event: the first given.
    assert len(_sms_to(fake_twilio, PHONE)) == 1 and _sms_to(fake_twilio, OTHER_PHONE) == []


async def test_a_failing_provider_retries_then_dead_letters_as_for_members(
    make_org, services, fake_smtp, fake_twilio, worker
):
    org = await make_org("Alpha")
    fake_smtp.data_replies.append("451 4.3.0 try again later")
    fake_twilio.script.fail_next(3, 503)
    await _stage(services, spec(org, [by_email(uuid.uuid4()), by_sms(uuid.uuid4())]))

    async def settled() -> bool:
        found = await _statuses(services)
        return found[DeliveryStatus.SENT] == 1 and found[DeliveryStatus.DEAD] == 1

    await eventually(settled)
    found = await _deliveries(services)
    assert found[EMAIL].attempts == 2 and len(_mail_to(fake_smtp, EMAIL)) == 1
    assert found[PHONE].attempts == 3 and fake_twilio.sent == []
    async with services.db.session() as session:
        page = await list_failures(session, org.actor(Role.ADMIN), PageRequest(first=10))
    assert [d.address for d in page.items] == [PHONE]

    async with services.db.session() as session:
        assert await requeue_dead(session) == 1

    async def resent() -> bool:
        return (await _statuses(services))[DeliveryStatus.SENT] == 2

    await eventually(resent)
    assert len(_sms_to(fake_twilio, PHONE)) == 1


async def test_cancel_stops_a_pending_sms_and_a_staged_one(
    make_org, services, settings, fake_twilio
):
    org = await make_org("Alpha")
    rosa, sam = uuid.uuid4(), uuid.uuid4()
    async with services.db.session() as session:
        # One already expanded into a pending delivery, one still staged in the outbox.
        await create_notifications(session, spec(org, [by_sms(rosa), by_sms(sam, OTHER_PHONE)]))
        stage_notification(session, spec(org, [by_sms(rosa), by_sms(sam, OTHER_PHONE)], "u2"))
        await session.commit()
    async with services.db.session() as session:
        cancelled = await cancel_pending_for_resident(session, rosa)
        await session.commit()
    assert (cancelled.deliveries, cancelled.staged) == (1, 1)

    async with running_worker(settings, services):

        async def others_told() -> bool:
            return (await _statuses(services))[DeliveryStatus.SENT] == 2

        await eventually(others_told)
    assert len(_sms_to(fake_twilio, OTHER_PHONE)) == 2 and _sms_to(fake_twilio, PHONE) == []
    assert await _statuses(services) == {
        **{s: 0 for s in DeliveryStatus},
        DeliveryStatus.SENT: 2,
        DeliveryStatus.SKIPPED: 1,
    }


async def test_cancel_reaches_an_sms_a_worker_has_claimed_but_not_sent(make_org, services):
    org = await make_org("Alpha")
    rosa = uuid.uuid4()
    async with services.db.session() as session:
        await create_notifications(session, spec(org, [by_sms(rosa)]))
        await session.commit()
    db = services.db
    async with db.session() as worker_session:
        claimed = await deliveries.claim(worker_session, ChannelName.SMS, 10, utcnow(), db.dialect)
        assert len(claimed) == 1
        async with db.session() as session:
            assert (await cancel_pending_for_resident(session, rosa)).deliveries == 1
            await session.commit()
        # The send path re-checks: the dispatcher hands nothing to Twilio.
        assert await deliveries.hand_over(worker_session, claimed, utcnow()) == []
    assert (await _statuses(services))[DeliveryStatus.SKIPPED] == 1


async def test_erasure_leaves_no_address_and_keeps_the_counts(
    make_org, services, settings, fake_smtp, fake_twilio
):
    org = await make_org("Alpha")
    rosa, sam = uuid.uuid4(), uuid.uuid4()
    fake_twilio.invalid_numbers.add(PHONE)  # Twilio's error quotes the number
    async with running_worker(settings, services):
        await _stage(services, spec(org, [by_email(rosa), by_sms(sam, OTHER_PHONE)]))
        await _stage(services, spec(org, [by_sms(rosa)], "u2"))

        async def settled() -> bool:
            found = await _statuses(services)
            return found[DeliveryStatus.SENT] == 2 and found[DeliveryStatus.FAILED] == 1

        await eventually(settled)
    async with services.db.session() as session:
        # A third message to Rosa is still pending when she is erased.
        later = [by_sms(rosa, "+447700900999"), by_email(sam, "sam@example.test")]
        await create_notifications(session, spec(org, later, "u3"))
        await session.commit()
    before = await _statuses(services)
    async with services.db.session() as session:
        assert await erase_resident_addresses(session, rosa) == 3
        await session.commit()

    after = await _statuses(services)
    assert before[DeliveryStatus.PENDING] == 2
    assert after == {**before, DeliveryStatus.PENDING: 1, DeliveryStatus.SKIPPED: 1}
    async with services.db.session() as session:
        rows = [
            *(await session.execute(sa.select(Notification.__table__))).all(),
            *(await session.execute(sa.select(Delivery.__table__))).all(),
            *(await session.execute(sa.select(OutboxMessage.__table__))).all(),
        ]
    text = "\n".join(str(tuple(r)) for r in rows)
    for trace in (EMAIL, PHONE, "+447700900999", str(rosa), rosa.hex):
        assert trace not in text
    # Sam, who was not erased, is untouched.
    assert OTHER_PHONE in text and "sam@example.test" in text


def test_residents_are_never_reached_by_push_or_a_member_template() -> None:
    with pytest.raises(ValueError, match="EMAIL or SMS"):
        ResidentRecipient(uuid.uuid4(), ChannelName.EXPO, "ExponentPushToken[x]")
    with pytest.raises(ValueError, match="not one for residents"):
        stage_notification(
            None,  # type: ignore[arg-type]  # refused before the session is used
            NotifySpec(uuid.uuid4(), [], "system", "e", residents=[by_sms(uuid.uuid4())]),
        )


async def test_an_event_to_many_residents_is_a_few_bulk_statements_per_chunk(
    make_org, services, count_queries
):
    """Three statements per CHUNK of residents (which notifications exist, then one bulk
    INSERT of notifications and one of deliveries), however many residents are in it."""
    org = await make_org("Alpha")

    async def expand(count: int, key: str) -> int:
        residents = [by_sms(uuid.uuid4(), f"+4477009{n:05d}") for n in range(count)]
        async with services.db.session() as session:
            before = count_queries.count
            created = await create_notifications(session, spec(org, residents, key))
            used = count_queries.count - before
            await session.commit()
        assert len(created) == count
        return used

    one_chunk = await expand(3, "small")
    assert await expand(CHUNK * 2 + 200, "big") == 3 * one_chunk
    assert (await _statuses(services))[DeliveryStatus.PENDING] == CHUNK * 2 + 203
