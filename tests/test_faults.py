"""Fault tests with real processes: a worker killed mid-batch, killed again and again at
random moments, and Redis gone for 30 seconds.

Each test runs ``doorstep worker`` as a subprocess against the session's PostgreSQL
database (PostgreSQL only: SKIP LOCKED and several processes are the point) and talks to
fake providers served from this test's event loop, so every wait here is an asyncio sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlmodel import SQLModel, col
from starlette.requests import Request
from starlette.responses import Response

from server.accounts.models import Organisation, User
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.deliveries import FINAL
from server.notifications.models import Delivery, DeliveryStatus
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from server.security.passwords import Passwords
from server.security.tokens import AccessClaims
from server.web.app import create_app
from tests.conftest import PASSWORD, REDIS_URL, SECRET, GraphQLClient
from tests.contract_ops import op
from tests.fakes.expo import FakeExpo
from tests.fakes.smtp import FakeSmtp
from tests.helpers import add_organisers
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 30.0


class HoldingExpo(FakeExpo):
    """A FakeExpo that reads each request whole before its latency, as a real provider
    that has received the bytes handles them whether or not the sender waits for the
    answer; ``held`` counts the messages read but not yet answered."""

    def __init__(self) -> None:
        super().__init__()
        self.held = 0

    async def _send(self, request: Request) -> Response:
        body = await request.json()  # Starlette keeps it: the parent reads it again
        count = len(body) if isinstance(body, list) else 1
        self.held += count
        try:
            return await super()._send(request)
        finally:
            self.held -= count


class WorkerProcess:
    """One ``doorstep worker`` subprocess; its output goes to a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server.cli.main",
                "worker",
                env=self.env,
                cwd=self.log.parent,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def signal(self, signum: int) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signum)

    async def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.process is not None:
            await self.process.wait()

    async def stop(self, grace: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``grace`` seconds."""
        if not self.alive:
            return
        assert self.process is not None
        self.signal(signal.SIGCONT)  # in case a test left it stopped
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            await self.kill()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    seconds: float,
    what: str,
    workers: tuple[WorkerProcess, ...] = (),
) -> None:
    """Bounded wait that keeps the event loop (and the fakes in it) running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    logs = "\n".join(f"--- {w.log.name}\n{w.tail()}" for w in workers)
    raise AssertionError(f"{what}: not within {seconds:.0f} s\n{logs}")


def _settings(database_url: str, redis_url: str, var_dir: Path, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"doorstep-fault:{uuid.uuid4().hex}:",
        secret_key=SECRET,
        var_dir=var_dir,
        public_url="http://doorstep.test",
        **extra,
    )


def _worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a worker subprocess: these settings, nothing from the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    env.update(
        {
            "DOORSTEP_DATABASE_URL": settings.database_url,
            "DOORSTEP_REDIS_URL": settings.effective_redis_url,
            "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
            "DOORSTEP_SECRET_KEY": settings.signing_key(),
            "DOORSTEP_VAR_DIR": str(settings.var_dir),
            "DOORSTEP_PUBLIC_URL": settings.public_url,
            "DOORSTEP_DELIVERY": "live",
            "DOORSTEP_RELAY_INTERVAL_SECONDS": "0.1",
            "DOORSTEP_SWEEP_INTERVAL_SECONDS": "1",
            "DOORSTEP_WORKER_SHUTDOWN_GRACE_SECONDS": "1",
            **extra,
        }
    )
    return env


async def _clean(services: Services) -> None:
    """Leave the shared session database and Redis as the other tests expect them."""
    names = ", ".join(f'"{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables))
    async with services.db.engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    try:
        with contextlib.suppress(RedisError, OSError):  # a failed outage test may leave it down
            pattern = f"*{services.settings.redis_prefix}*"
            keys = [k async for k in services.redis.scan_iter(match=pattern)]
            if keys:
                await services.redis.delete(*keys)
    finally:
        await services.close()


@asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Services]:
    services = Services.create(settings)
    try:
        yield services
    finally:
        await _clean(services)


@asynccontextmanager
async def _workers() -> AsyncIterator[list[WorkerProcess]]:
    """Every worker a test starts is stopped at its end, whatever happened."""
    started: list[WorkerProcess] = []
    try:
        yield started
    finally:
        await asyncio.gather(*(w.stop() for w in started))


async def _start(workers: list[WorkerProcess], env: dict[str, str], log: Path) -> WorkerProcess:
    worker = WorkerProcess(env, log)
    workers.append(worker)
    await worker.start()
    return worker


async def _statuses(services: Services) -> Counter[DeliveryStatus]:
    async with services.db.session() as session:
        rows = await session.execute(
            sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
        )
        return Counter({DeliveryStatus(s): n for s, n in rows.all()})


async def _organisation(services: Services, password_hash: str | None = None) -> User:
    """An organisation and its admin."""
    async with services.db.session() as session:
        org = Organisation(name=f"Fault {uuid.uuid4().hex[:6]}")
        session.add(org)
        await session.flush()
        admin = User(
            organisation_id=org.id,
            email=f"admin@{org.id}.test",
            display_name="Admin",
            role=Role.ADMIN,
            password_hash=password_hash,
        )
        session.add(admin)
        await session.commit()
    return admin


async def _members(
    services: Services, admin: User, count: int, *, phones: bool, password_hash: str | None = None
) -> list[User]:
    return await add_organisers(
        services.db, admin.organisation_id, count, phones=phones, password_hash=password_hash
    )


# --- a worker killed with SIGKILL in the middle of a batch ------------------------------

PUSHES = 600
EXPO_BATCH = 100


async def _kill_mid_batch(
    worker: WorkerProcess, services: Services, expo: HoldingExpo, attempts: int = 200
) -> Counter[DeliveryStatus]:
    """SIGKILL the worker while it has pushes out at the provider and others still to send.

    The worker is frozen (SIGSTOP) while the state is read, so nothing it claimed can be on
    its way unseen: the kill lands only when every claimed delivery (SENDING or SENT) is at
    the provider. Claimed-but-unsent rows are the one case the lease rule (settle, never
    resend) gives up on by design; that window is a few milliseconds, not this test's point.
    """
    seen = ""
    for _ in range(attempts):
        worker.signal(signal.SIGSTOP)
        await asyncio.sleep(0.2)  # bytes already written land at the fake and in PostgreSQL
        counts = await _statuses(services)
        claimed = counts[DeliveryStatus.SENDING] + counts[DeliveryStatus.SENT]
        at_provider = len(expo.messages) + expo.held
        pending = counts[DeliveryStatus.PENDING]
        if expo.messages and counts[DeliveryStatus.SENDING] and pending and claimed == at_provider:
            await worker.kill()
            return counts
        worker.signal(signal.SIGCONT)
        seen += f"\n{claimed} claimed, {at_provider} at the provider, {pending} pending"
        if not pending:
            break  # nothing left to claim: the moment has passed
        await asyncio.sleep(0.05)
    largest = await _largest_claim(services)
    assert largest <= EXPO_BATCH, f"one claim took {largest} deliveries; a batch is {EXPO_BATCH}"
    raise AssertionError(
        "never caught the worker with a batch out and every claimed delivery at the "
        f"provider:{seen[-2000:]}\n{worker.tail()}"
    )


async def _largest_claim(services: Services) -> int:
    """The most deliveries one claim took (a claim stamps its rows with one claimed_at)."""
    per_claim = (
        sa.select(sa.func.count().label("n"))
        .where(col(Delivery.claimed_at).is_not(None))
        .group_by(col(Delivery.claimed_at))
        .subquery()
    )
    async with services.db.session() as session:
        return int(await session.scalar(sa.select(sa.func.max(per_claim.c.n))) or 0)


async def _tell_everyone(services: Services, admin: Any, users: list[Any], key: str) -> None:
    """Stage one push to every organiser, as a domain would in its transaction."""
    async with services.db.session() as session:
        stage_notification(
            session,
            NotifySpec(
                organisation_id=admin.organisation_id,
                user_ids=[u.id for u in users],
                template="system",
                event_key=key,
                params={"title": "Meeting", "body": "Tonight 7pm"},
            ),
        )
        await session.commit()


async def test_worker_killed_mid_batch_then_restarted_sends_each_push_once(
    postgresql_url: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        expo = await stack.enter_async_context(HoldingExpo())
        expo.script.latency = 0.5  # a batch stays in flight long enough to be caught there
        settings = _settings(postgresql_url, REDIS_URL, tmp_path / "var")
        services = await stack.enter_async_context(_services(settings))
        workers = await stack.enter_async_context(_workers())
        admin = await _organisation(services)
        users = await _members(services, admin, PUSHES, phones=True)
        env = _worker_env(
            settings,
            DOORSTEP_EXPO_PUSH_URL=expo.send_url,
            DOORSTEP_EXPO_RECEIPTS_URL=expo.receipts_url,
            DOORSTEP_SEND_LEASE_SECONDS="3",
        )
        first = await _start(workers, env, tmp_path / "worker-1.log")
        await _tell_everyone(services, admin, users, "fault-kill")

        async def some_sent() -> bool:
            return bool(expo.messages)

        await wait_until(some_sent, 60, "the first pushes reached Expo", (first,))
        at_kill = await _kill_mid_batch(first, services, expo)
        second = await _start(workers, env, tmp_path / "worker-2.log")

        async def all_final() -> bool:
            counts = await _statuses(services)
            return expo.held == 0 and sum(counts[s] for s in FINAL) == PUSHES

        await wait_until(all_final, 90, "every delivery settled", (first, second))
        async with services.db.session() as session:
            rows = (await session.execute(sa.select(Delivery.id, Delivery.last_error))).all()
        # The batch that was out when the worker died was settled UNCONFIRMED, not sent again.
        unconfirmed = at_kill[DeliveryStatus.SENDING]
        assert unconfirmed > 0
        assert await _statuses(services) == Counter(
            {DeliveryStatus.SENT: PUSHES - unconfirmed, DeliveryStatus.UNCONFIRMED: unconfirmed}
        )
        assert expo.duplicates() == {}
        assert set(expo.delivery_counts()) == {str(r.id) for r in rows}
        assert all((r.last_error or "").startswith("unconfirmed") for r in rows if r.last_error)
        assert second.alive


# --- a worker killed again and again at random moments, never paused ------------------

RANDOM_PUSHES = 2000
RANDOM_LATENCY = 0.3


async def _notifications_status(env: dict[str, str], cwd: Path) -> dict[str, int]:
    """What ``doorstep notifications status`` prints, as counts per status."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli.main",
        "notifications",
        "status",
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode(errors="replace")
    counts = {}
    for line in out.decode().splitlines():
        name, count = line.split()
        counts[name] = int(count)
    return counts


async def test_worker_killed_at_random_moments_loses_nothing_and_sends_nothing_twice(
    postgresql_url: str, tmp_path: Path
) -> None:
    """SIGKILL without warning, 4 to 6 times, wherever the worker is: claiming, handing a
    batch over, waiting for Expo, recording. Each delivery ends sent exactly once or
    UNCONFIRMED (it was on its way when the worker died), and the operators' count says so.
    """
    seed = int(os.environ.get("DOORSTEP_FAULT_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    note = f"(DOORSTEP_FAULT_SEED={seed})"
    async with AsyncExitStack() as stack:
        expo = await stack.enter_async_context(HoldingExpo())
        expo.script.latency = RANDOM_LATENCY
        settings = _settings(postgresql_url, REDIS_URL, tmp_path / "var")
        services = await stack.enter_async_context(_services(settings))
        workers = await stack.enter_async_context(_workers())
        admin = await _organisation(services)
        users = await _members(services, admin, RANDOM_PUSHES, phones=True)
        env = _worker_env(
            settings,
            DOORSTEP_EXPO_PUSH_URL=expo.send_url,
            DOORSTEP_EXPO_RECEIPTS_URL=expo.receipts_url,
            DOORSTEP_SEND_LEASE_SECONDS="3",
            DOORSTEP_WORKER_CONCURRENCY="2",
        )
        await _tell_everyone(services, admin, users, "fault-random-kills")

        async def in_flight() -> bool:
            return expo.held > 0

        kills = rng.randint(4, 6)
        left_sending: list[int] = []
        for n in range(1, kills + 1):
            worker = await _start(workers, env, tmp_path / f"worker-{n}.log")
            await wait_until(in_flight, 60, f"worker {n} sending {note}", (worker,))
            await asyncio.sleep(rng.uniform(0.0, 3 * RANDOM_LATENCY))
            await worker.kill()
            counts = await _statuses(services)
            left_sending.append(counts[DeliveryStatus.SENDING])
            assert counts[DeliveryStatus.PENDING], f"ran out of work after {n} kills {note}"
        last = await _start(workers, env, tmp_path / "worker-last.log")

        async def all_final() -> bool:
            counts = await _statuses(services)
            return expo.held == 0 and sum(counts[s] for s in FINAL) == RANDOM_PUSHES

        await wait_until(all_final, 120, f"every delivery settled {note}", (last,))
        async with services.db.session() as session:
            rows = (await session.execute(sa.select(Delivery.id, Delivery.status))).all()
        seen = expo.delivery_counts()
        assert expo.duplicates() == {}, note
        assert set(seen) <= {str(r.id) for r in rows}, note
        assert {r.status for r in rows} <= {DeliveryStatus.SENT, DeliveryStatus.UNCONFIRMED}, note
        for row in rows:
            if row.status is DeliveryStatus.SENT:
                assert seen[str(row.id)] == 1, f"{row.id} is SENT but Expo has none {note}"
        # The kills landed while batches were out, and what was out is accounted for.
        assert any(left_sending), f"no kill caught a batch out: {left_sending} {note}"
        unconfirmed = sum(1 for r in rows if r.status is DeliveryStatus.UNCONFIRMED)
        assert 0 < unconfirmed <= sum(left_sending), (unconfirmed, left_sending, note)

        printed = await _notifications_status(env, tmp_path)
        assert printed == {
            **{status.value: 0 for status in DeliveryStatus},
            DeliveryStatus.SENT.value: RANDOM_PUSHES - unconfirmed,
            DeliveryStatus.UNCONFIRMED.value: unconfirmed,
            "total": RANDOM_PUSHES,
        }, note
        assert last.alive, last.tail()


# --- Redis stopped for 30 seconds while the API takes mutations -------------------------


class Api:
    """The real app in this process, called through GraphQL like a client does."""

    def __init__(self, gql: GraphQLClient, admin_token: str, org_id: uuid.UUID) -> None:
        self.gql = gql
        self.admin_token = admin_token
        self.org_id = org_id

    async def invite(self, n: int) -> str:
        email = f"invitee{n}@{self.org_id}.test"
        data = await self.gql(
            op("InviteMember"),
            {"input": {"email": email, "displayName": f"Invitee {n}", "role": "ORGANISER"}},
            self.admin_token,
        )
        payload = data["inviteMember"]
        assert payload["userErrors"] == [] and payload["member"]["email"] == email, payload
        return email

    async def reset(self, email: str) -> None:
        data = await self.gql(op("RequestPasswordReset"), {"email": email})
        assert data["requestPasswordReset"]["ok"] is True

    async def login(self, email: str, password: str) -> dict[str, Any]:
        data = await self.gql(op("Login"), {"email": email, "password": password})
        payload: dict[str, Any] = data["login"]
        return payload


async def _mutate_during_outage(api: Api, members: list[User], seconds: float) -> list[str]:
    """Invitations, resets and logins until ``seconds`` pass; returns the emails due."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    due: list[str] = []
    for n, member in enumerate(members):
        if loop.time() >= deadline:
            break
        due.append(await api.invite(n))
        await api.reset(member.email)
        due.append(member.email)
        ok = await api.login(member.email, PASSWORD)
        assert ok["userErrors"] == [] and ok["session"]["accessToken"], ok
        wrong = await api.login(member.email, "not the password")
        assert [e["code"] for e in wrong["userErrors"]] == ["INVALID"], wrong
        await asyncio.sleep(0.5)
    else:
        raise AssertionError("ran out of members before the outage ended")
    return due


async def test_mutations_succeed_while_redis_is_down_and_emails_follow(
    postgresql_url: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(RedisServer(log_file=tmp_path / "redis.log"))
        smtp = await stack.enter_async_context(FakeSmtp())
        # While Redis is down the rate limits still hold (in process): room for the ~50
        # rounds of logins and resets that this one client sends during the outage.
        settings = _settings(
            postgresql_url,
            redis.url,
            tmp_path / "var",
            login_attempts_per_address=1000,
            password_resets_per_address_per_hour=1000,
        )
        services = await stack.enter_async_context(_services(settings))
        workers = await stack.enter_async_context(_workers())
        password_hash = await Passwords(settings).hash(PASSWORD)
        admin = await _organisation(services, password_hash)
        members = await _members(services, admin, 90, phones=False, password_hash=password_hash)
        app = create_app(settings, services)
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 50000)),
                base_url="http://doorstep.test",
                timeout=60,
            )
        )
        token, _ = services.access_tokens.issue(
            AccessClaims(admin.id, admin.organisation_id, Role.ADMIN, uuid.uuid4())
        )
        api = Api(GraphQLClient(http), token, admin.organisation_id)
        env = _worker_env(settings, DOORSTEP_SMTP_URL=smtp.url())
        worker = await _start(workers, env, tmp_path / "worker.log")

        def mails(count: int) -> Callable[[], Awaitable[bool]]:
            async def arrived() -> bool:
                return len(smtp.received) >= count

            return arrived

        due = [await api.invite(1000)]  # the pipeline works before the outage
        await wait_until(mails(1), 60, "the first invitation", (worker,))

        await redis.stop()
        due += await _mutate_during_outage(api, members, OUTAGE_SECONDS)
        assert smtp.received[1:] == [], "nothing can be sent while Redis is down"
        await redis.start()

        await wait_until(mails(len(due)), 120, "every email after the outage", (worker,))
        await asyncio.sleep(2)  # room for a duplicate to show up
        recipients = Counter(r for mail in smtp.received for r in mail.rcpt_tos)
        assert recipients == Counter(due)
        ids = Counter(mail.message["Message-ID"] for mail in smtp.received)
        assert len(ids) == len(due) and max(ids.values()) == 1
        assert await _statuses(services) == Counter({DeliveryStatus.SENT: len(due)})
        assert worker.alive, worker.tail()
        log = worker.log.read_text()  # the worker waited for Redis rather than spin on it
        assert "Redis unreachable; jobs wait" in log and "Redis is back" in log
