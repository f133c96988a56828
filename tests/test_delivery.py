"""The whole pipeline with a real worker: outbox -> saq on Redis -> dispatch -> fake Expo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from server.accounts.models import Device, User
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.failures import requeue_dead
from server.notifications.models import ChannelName, Delivery, DeliveryStatus
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from tests.fakes.expo import FakeExpo
from tests.helpers import add_organisers, eventually, running_worker
from workers.jobs.receipts import check_expo_receipts
from workers.runtime import Runtime


@pytest.fixture
async def expo() -> AsyncIterator[FakeExpo]:
    async with FakeExpo() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, expo: FakeExpo) -> Settings:
    return settings.model_copy(
        update={
            "delivery": "live",
            "relay_interval_seconds": 0.05,
            "sweep_interval_seconds": 1,
            "delivery_backoff_seconds": 0.2,
            "delivery_max_attempts": 3,
            **expo.settings(),
        }
    )


@pytest.fixture
async def worker(settings: Settings, services: Services) -> AsyncIterator[Runtime]:
    async with running_worker(settings, services) as runtime:
        yield runtime


async def _organisers_with_phones(services: Services, org: Any, count: int) -> list[User]:
    return await add_organisers(services.db, org.organisation.id, count)


async def _announce(services: Services, org: Any, users: list[User], key: str = "e1") -> None:
    async with services.db.session() as session:
        stage_notification(
            session,
            NotifySpec(
                organisation_id=org.organisation.id,
                user_ids=[u.id for u in users],
                template="system",
                event_key=key,
                params={"title": "Meeting", "body": "Tonight 7pm"},
            ),
        )
        await session.commit()


async def _statuses(services: Services) -> dict[DeliveryStatus, int]:
    async with services.db.session() as session:
        rows = await session.execute(
            sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
        )
        return {DeliveryStatus(s): n for s, n in rows.all()}


async def test_each_push_reaches_expo_once_in_batches_of_100(make_org, services, expo, worker):
    org = await make_org("Alpha")
    users = await _organisers_with_phones(services, org, 150)
    await _announce(services, org, users)

    async def all_sent() -> bool:
        return (await _statuses(services)).get(DeliveryStatus.SENT) == 150

    await eventually(all_sent)
    assert len(expo.delivery_counts()) == 150 and expo.duplicates() == {}
    assert max(r.count for r in expo.send_requests) <= 100
    assert expo.messages[0]["title"] == "Meeting"


async def test_retry_after_429_honours_retry_after(make_org, services, expo, worker):
    org = await make_org("Alpha")
    users = await _organisers_with_phones(services, org, 1)
    expo.script.fail_next(1, 429, retry_after=2)
    before = utcnow()
    await _announce(services, org, users)

    async def deferred() -> bool:
        async with services.db.session() as session:
            row = await session.scalar(sa.select(Delivery))
            return row is not None and row.attempts == 1 and row.status is DeliveryStatus.PENDING

    await eventually(deferred)
    async with services.db.session() as session:
        row = await session.scalar(sa.select(Delivery))
        assert row is not None and row.next_attempt_at >= before + timedelta(seconds=2)
    assert expo.messages == []

    async def sent() -> bool:
        return (await _statuses(services)).get(DeliveryStatus.SENT) == 1

    await eventually(sent)
    assert len(expo.messages) == 1


async def test_unregistered_token_disables_the_device(make_org, services, expo, worker):
    org = await make_org("Alpha")
    users = await _organisers_with_phones(services, org, 2)
    expo.unregistered.add(f"ExponentPushToken[{users[0].id}]")
    await _announce(services, org, users)

    async def settled() -> bool:
        s = await _statuses(services)
        return s.get(DeliveryStatus.FAILED) == 1 and s.get(DeliveryStatus.SENT) == 1

    await eventually(settled)
    async with services.db.session() as session:
        devices = {d.user_id: d for d in (await session.scalars(sa.select(Device))).all()}
    assert devices[users[0].id].disabled_at is not None
    assert devices[users[1].id].disabled_at is None


async def test_dead_after_last_attempt_then_requeued(make_org, services, expo, worker):
    org = await make_org("Alpha")
    users = await _organisers_with_phones(services, org, 1)
    expo.script.fail_next(3, 503)
    await _announce(services, org, users)

    async def dead() -> bool:
        return (await _statuses(services)).get(DeliveryStatus.DEAD) == 1

    await eventually(dead)
    failures = await _admin_failures(services, org)
    assert failures and failures[0].attempts == 3 and expo.messages == []

    async with services.db.session() as session:
        assert await requeue_dead(session) == 1

    async def sent() -> bool:
        return (await _statuses(services)).get(DeliveryStatus.SENT) == 1

    await eventually(sent)
    assert len(expo.messages) == 1


async def _admin_failures(services: Services, org: Any) -> list[Delivery]:
    from server.core.pagination import PageRequest
    from server.notifications.failures import list_failures

    async with services.db.session() as session:
        page = await list_failures(session, org.actor(Role.ADMIN), PageRequest(first=10))
    return page.items


async def test_receipts_confirm_delivery_or_disable_devices(make_org, services, expo, worker):
    org = await make_org("Alpha")
    users = await _organisers_with_phones(services, org, 2)
    expo.receipt_errors[f"ExponentPushToken[{users[1].id}]"] = "DeviceNotRegistered"
    await _announce(services, org, users)

    async def sent() -> bool:
        return (await _statuses(services)).get(DeliveryStatus.SENT) == 2

    await eventually(sent)
    assert await check_expo_receipts(worker, now=utcnow() + timedelta(minutes=16)) == 2
    assert await _statuses(services) == {DeliveryStatus.DELIVERED: 1, DeliveryStatus.FAILED: 1}
    async with services.db.session() as session:
        disabled = await session.scalar(
            sa.select(sa.func.count()).select_from(Device).where(Device.disabled_at.is_not(None))
        )
    assert disabled == 1


async def test_a_claim_takes_one_batch_even_on_a_fresh_table(make_org, services):
    """Claimed rows are what a crash strands: a claim must never take more than asked."""
    from server.notifications.deliveries import claim
    from server.notifications.service import create_notifications

    org = await make_org("Alpha")
    users = await _organisers_with_phones(services, org, 250)
    async with services.db.session() as session:
        await create_notifications(
            session,
            NotifySpec(
                organisation_id=org.organisation.id,
                user_ids=[u.id for u in users],
                template="system",
                event_key="batch",
                params={"title": "t", "body": "b"},
            ),
        )
        await session.commit()
    async with services.db.session() as session:
        first = await claim(session, ChannelName.EXPO, 100, utcnow(), services.db.dialect)
        second = await claim(session, ChannelName.EXPO, 100, utcnow(), services.db.dialect)
    assert len(first) == len(second) == 100
    assert not {r.id for r in first} & {r.id for r in second}
    assert await _statuses(services) == {DeliveryStatus.SENDING: 200, DeliveryStatus.PENDING: 50}
