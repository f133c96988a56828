"""Outbox rows that keep failing: retried with backoff, then DEAD with their last error,
no longer handed over, shown to operators and brought back on request (real worker,
real Redis, both databases)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.cli.main import main
from server.core.manifest import Domain, Registry, Topic
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.domains import DOMAINS
from server.outbox.dead_letters import describe, expire_stale, outbox_status
from server.outbox.models import OutboxMessage
from server.outbox.service import stage
from tests.helpers import SECRET, eventually, running_worker
from workers.outbox import relay_once
from workers.runtime import Runtime
from workers.upkeep import STALE_OUTBOX

POISON = "test.poison"
BACKOFF = 0.2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "relay_interval_seconds": 0.05,
            "outbox_max_attempts": 3,
            "outbox_backoff_seconds": BACKOFF,
        }
    )


class Poison:
    """A topic handler that raises, with a resident's email and phone in its message, until
    it is mended."""

    def __init__(self) -> None:
        self.broken = True
        self.calls: list[float] = []

    async def __call__(self, runtime: Runtime, session: Any, row: OutboxMessage) -> list[Any]:
        self.calls.append(time.monotonic())
        if self.broken:
            raise RuntimeError("could not reach jane.doe@example.org on 07700 900123")
        row.payload = {**row.payload, "handled": True}
        return []


@pytest.fixture
def poison() -> Poison:
    return Poison()


def with_poison(poison: Poison) -> Registry:
    """The real domains and a test domain whose one topic's handler is the poison."""
    return Registry.gather((*DOMAINS, Domain("test", outbox=(Topic(POISON, poison),))))


async def _stage(services: Services, topic: str) -> uuid.UUID:
    async def nobody(*args: object) -> list[object]:
        raise AssertionError("a topic in no manifest is never handled")

    async with services.db.session() as session:
        row = stage(session, Topic(topic, nobody), {"n": 1}, dedupe_key=f"test:{uuid.uuid4()}")
        await session.commit()
    return row.id


async def _row(services: Services, row_id: uuid.UUID) -> OutboxMessage:
    async with services.db.session() as session:
        row = await session.get(OutboxMessage, row_id)
    assert row is not None
    return row


async def doorstep(settings: Settings, tmp_path: Path, *args: str) -> str:
    """Run the `doorstep` command against the test's database; returns its output."""
    env = {
        **os.environ,
        "DOORSTEP_DATABASE_URL": settings.database_url,
        "DOORSTEP_REDIS_URL": settings.effective_redis_url,
        "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
        "DOORSTEP_SECRET_KEY": SECRET,
        "DOORSTEP_VAR_DIR": str(tmp_path / "cli"),
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server.cli.main", *args),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_a_poisoned_row_is_retried_then_dead_then_requeued_and_processed(
    settings: Settings, services: Services, poison: Poison, tmp_path: Path
) -> None:
    row_id = await _stage(services, POISON)
    async with running_worker(settings, services, with_poison(poison)) as runtime:

        async def dead() -> bool:
            return (await _row(services, row_id)).dead_at is not None

        await eventually(dead)
        row = await _row(services, row_id)
        assert len(poison.calls) == 3 and row.attempts == 3
        assert row.processed_at is None and row.dispatched_at is not None
        assert row.last_error is not None
        assert row.last_error.startswith("RuntimeError: could not reach ")
        assert "jane.doe" not in row.last_error and "900123" not in row.last_error
        # Backoff between the attempts: 0.2 s, then 0.4 s.
        gaps = [b - a for a, b in zip(poison.calls, poison.calls[1:], strict=False)]
        assert gaps[0] >= BACKOFF and gaps[1] >= 2 * BACKOFF, gaps

        # Neither the sweep (even long after) nor the relay hands it back.
        later = utcnow() + timedelta(hours=1)
        async with services.db.session() as session:
            assert await expire_stale(session, STALE_OUTBOX, 3, later) == (0, 0)
            await session.commit()
        assert await relay_once(runtime, now=later) == 0
        assert len(poison.calls) == 3

        status = await doorstep(settings, tmp_path, "outbox", "status")
        assert "dead         1" in status and "pending      0" in status, status
        assert f"dead {row_id} topic={POISON} attempts=3 since=" in status
        assert "error=RuntimeError: could not reach" in status
        assert "jane.doe" not in status

        poison.broken = False
        requeued = await doorstep(settings, tmp_path, "outbox", "requeue", "--id", str(row_id))
        assert requeued.strip() == "requeued 1 dead outbox rows"

        async def processed() -> bool:
            return (await _row(services, row_id)).processed_at is not None

        await eventually(processed)
    row = await _row(services, row_id)
    assert len(poison.calls) == 4
    assert row.dead_at is None and row.attempts == 1 and row.payload["handled"] is True
    async with services.db.session() as session:
        status = await outbox_status(session)
    assert (status.pending, status.handed_over, status.processed, status.dead) == (0, 0, 1, 0)


async def test_a_topic_nobody_handles_dies_at_once(settings: Settings, services: Services) -> None:
    row_id = await _stage(services, "test.nobody")
    async with running_worker(settings, services):

        async def dead() -> bool:
            return (await _row(services, row_id)).dead_at is not None

        await eventually(dead)
    row = await _row(services, row_id)
    assert row.attempts == 1 and row.last_error == "unknown topic"
    async with services.db.session() as session:
        status = await outbox_status(session)
    assert status.dead == 1 and [r.id for r in status.dead_rows] == [row_id]


async def test_requeue_all_dead_gives_them_fresh_attempts(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    now = utcnow()
    async with services.db.session() as session:
        for i in range(3):
            session.add(
                OutboxMessage(
                    topic="test.x",
                    dedupe_key=f"dead:{i}",
                    dispatched_at=now,
                    attempts=8,
                    dead_at=now if i < 2 else None,
                    last_error="ValueError: no" if i < 2 else None,
                )
            )
        await session.commit()
    out = await doorstep(settings, tmp_path, "outbox", "requeue", "--all-dead")
    assert out.strip() == "requeued 2 dead outbox rows"
    async with services.db.session() as session:
        status = await outbox_status(session)
    # The two requeued are pending again; the third is still handed over.
    assert (status.pending, status.handed_over, status.dead) == (2, 1, 0)


@pytest.mark.parametrize(
    "args", [["requeue"], ["requeue", "--id", "nope"], ["status", "--all-dead"]]
)
def test_requeue_says_which_rows(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outbox", *args]) == 2
    assert capsys.readouterr().err.startswith("error: ")


async def test_the_sweep_rehands_stale_rows_and_kills_those_out_of_attempts(
    services: Services,
) -> None:
    now = utcnow()
    long_ago = now - STALE_OUTBOX - timedelta(seconds=1)
    async with services.db.session() as session:
        rows = {
            name: OutboxMessage(
                topic="test.x", dedupe_key=name, dispatched_at=at, attempts=attempts
            )
            for name, at, attempts in (
                ("lost", long_ago, 2),
                ("worn out", long_ago, 3),
                ("recent", now, 3),
            )
        }
        session.add_all(rows.values())
        await session.commit()
        assert await expire_stale(session, STALE_OUTBOX, 3, now) == (1, 1)
        await session.commit()
        found = {r.dedupe_key: r for r in (await session.scalars(sa.select(OutboxMessage))).all()}
    assert found["lost"].dispatched_at is None and found["lost"].dead_at is None
    assert found["worn out"].dead_at is not None
    assert found["worn out"].last_error == "handed over but never finished"
    assert found["recent"].dead_at is None and found["recent"].dispatched_at is not None


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (RuntimeError("call +44 7700 900123 or write to a.b@example.org"), "RuntimeError: call"),
        (KeyError("user_id"), "KeyError: 'user_id'"),
        (TimeoutError(), "TimeoutError"),
        (ValueError("x" * 2000), "ValueError: xxx"),
    ],
)
def test_describe_keeps_the_type_and_no_contact_details(error: Exception, kept: str) -> None:
    text = describe(error)
    assert text.startswith(kept)
    assert "900123" not in text and "example.org" not in text
    assert len(text) <= 320
