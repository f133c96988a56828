"""DOORSTEP_REDIS_PREFIX starts every Redis key and channel of a deployment, saq's included,
and two deployments on one Redis never see each other's jobs (a private redis-server, so
that every key in it can be checked)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from saq.job import Status

from server.core.models import utcnow
from server.core.queue import create_queue, enqueue
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import Delivery, DeliveryStatus
from server.notifications.notify import stage_notification
from server.notifications.reminders import FIRE_REMINDER
from server.notifications.spec import NotifySpec
from server.outbox.models import OutboxMessage
from tests.helpers import add_organisers, eventually, running_worker
from tests.redis_server import RedisServer
from workers.outbox import HANDLE_OUTBOX

PREFIX = "deploy-a:"
OTHER = "deploy-b:"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    async with RedisServer() as server:
        yield server


@pytest.fixture
def settings(settings: Settings, redis_server: RedisServer) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": redis_server.url,
            "redis_prefix": PREFIX,
            "relay_interval_seconds": 0.05,
            "sweep_interval_seconds": 1,
        }
    )


async def _all_keys(redis: Redis) -> list[str]:
    return sorted([k.decode() async for k in redis.scan_iter(match="*", count=1000)])


async def test_every_key_and_channel_of_a_deployment_starts_with_its_prefix(
    settings: Settings, services: Services, make_org: Any
) -> None:
    org = await make_org("Alpha")
    [phone] = await add_organisers(services.db, org.organisation.id, 1)
    redis = Redis.from_url(settings.effective_redis_url)
    channels: list[str] = []
    pubsub = redis.pubsub()
    await pubsub.psubscribe("*")

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                channels.append(message["channel"].decode())

    listener = asyncio.create_task(listen())
    try:
        async with running_worker(settings, services) as runtime:
            async with services.db.session() as session:
                stage_notification(
                    session,
                    NotifySpec(
                        organisation_id=org.organisation.id,
                        user_ids=[phone.id],
                        template="system",
                        event_key="prefix-test",
                        params={"title": "Meeting", "body": "Tonight 7pm"},
                    ),
                )
                await session.commit()

            async def sent() -> bool:
                async with services.db.session() as session:
                    statuses = (await session.scalars(sa.select(Delivery.status))).all()
                return bool(statuses) and set(statuses) == {DeliveryStatus.SENT}

            await eventually(sent)
            # A job for later (the schedule) and one aborted (the abort key).
            later = utcnow() + timedelta(hours=1)
            for key in ("later", "aborted"):
                assert await enqueue(
                    runtime.queue, FIRE_REMINDER, key=key, at=later, reminder_id=key
                )
            job = await runtime.queue.job("aborted")
            assert job is not None
            await runtime.queue.abort(job, "test")
            await asyncio.sleep(1.5)  # saq's own timers: stats, sweep and schedule locks
    finally:
        listener.cancel()
        await pubsub.aclose()

    keys = await _all_keys(redis)
    await redis.aclose()
    outside = [k for k in keys if not k.startswith(PREFIX)]
    assert outside == [], outside
    # Not vacuous: saq's queue lists, jobs and worker stats are among them.
    async with services.db.session() as session:
        row_id = await session.scalar(sa.select(OutboxMessage.id))
    for key in (
        f"{PREFIX}saq:job:doorstep:outbox:{row_id}",
        f"{PREFIX}saq:job:doorstep:later",
        f"{PREFIX}saq:doorstep:incomplete",
        f"{PREFIX}saq:doorstep:stats",
    ):
        assert key in keys, keys
    assert any(k.startswith(f"{PREFIX}saq:doorstep:worker_info:") for k in keys), keys
    assert channels and all(c.startswith(PREFIX) for c in channels), channels
    assert f"{PREFIX}saq:job:doorstep:outbox:{row_id}" in channels


async def test_two_prefixes_do_not_see_each_others_jobs(
    settings: Settings, services: Services
) -> None:
    other = create_queue(settings.model_copy(update={"redis_prefix": OTHER}))
    await other.connect()
    missing = str(uuid.uuid4())  # no such outbox row: the job has nothing to do
    try:
        async with running_worker(settings, services) as runtime:
            # The same job key in both: neither refuses it as already pending.
            assert await enqueue(other, HANDLE_OUTBOX, key="same", outbox_id=missing)
            assert await enqueue(runtime.queue, HANDLE_OUTBOX, key="same", outbox_id=missing)

            async def done() -> bool:
                job = await runtime.queue.job("same")
                return job is not None and job.status == Status.COMPLETE

            await eventually(done)
            # This worker took its own job only: the other deployment's still waits.
            theirs = await other.job("same")
            assert theirs is not None and theirs.status == Status.QUEUED
            assert await other.count("queued") == 1
            assert await runtime.queue.count("queued") == 0
            assert (await runtime.queue.job("same")).result == "already processed"  # type: ignore[union-attr]

            # An abort in one (its key lives a few seconds) blocks nothing in the other.
            later = utcnow() + timedelta(hours=1)
            assert await enqueue(other, HANDLE_OUTBOX, key="held", at=later, outbox_id=missing)
            held = await other.job("held")
            assert held is not None
            await other.abort(held, "operator")
            assert await other.redis.exists(f"{OTHER}saq:abort:doorstep:held")
            assert await enqueue(
                runtime.queue, HANDLE_OUTBOX, key="held", at=later, outbox_id=missing
            )
    finally:
        await other.disconnect()
