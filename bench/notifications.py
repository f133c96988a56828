"""Notifications benchmark: 10,000 Expo pushes through the real pipeline and ONE worker.

outbox -> relay -> saq on Redis -> handle_outbox -> deliveries -> dispatch -> a fake Expo
served from this process. Prints notifications per second end to end (staging to the last
SENT) and for the dispatch phase alone (the fake's first to last message), checks that
every delivery reached the fake exactly once, then runs redis-benchmark against the same
Redis so the figure can be read against what that Redis does on this machine.

Environment: DOORSTEP_BENCH_DATABASE_URL (a PostgreSQL server to create the benchmark's
own database on; default the machine's postgres on 127.0.0.1:5432), DOORSTEP_BENCH_REDIS_URL
(default: a private redis-server on a free port). Other DOORSTEP_* variables reach the
worker, e.g. DOORSTEP_WORKER_CONCURRENCY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response

from server.accounts.models import Organisation
from server.cli.migrate import upgrade
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.deliveries import FINAL
from server.notifications.models import Delivery, DeliveryStatus, Notification
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from tests.fakes.expo import FakeExpo
from tests.helpers import add_organisers
from tests.redis_server import RedisServer

DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RUN_KEY = "bench-run"
WARMUP_SECONDS = 60.0
SEED_CHUNK = 2_000
REDIS_BENCHMARK = ("-t", "lpush,rpop", "-n", "100000", "-q")


class BenchError(RuntimeError):
    """The benchmark could not finish; the message says why."""


@dataclass
class Options:
    users: int = 10_000
    specs: int = 10
    timeout: float = 300.0


@dataclass
class Figures:
    users: int
    e2e_seconds: float = 0.0
    dispatch_seconds: float = 0.0
    distinct: int = 0
    duplicates: int = 0
    missing: int = 0
    not_sent: Counter[str] = field(default_factory=Counter)
    redis: dict[str, float] = field(default_factory=dict)

    @property
    def e2e_rate(self) -> float:
        return self.users / self.e2e_seconds if self.e2e_seconds else 0.0

    @property
    def dispatch_rate(self) -> float:
        return self.users / self.dispatch_seconds if self.dispatch_seconds else 0.0

    @property
    def exactly_once(self) -> bool:
        return not (self.duplicates or self.missing or self.not_sent)


class TimedExpo(FakeExpo):
    """A FakeExpo that notes when it accepted its first and last messages."""

    def __init__(self) -> None:
        super().__init__()
        self.first: float | None = None
        self.last: float | None = None

    def reset(self) -> None:
        super().reset()
        self.first = self.last = None

    async def _send(self, request: Request) -> Response:
        before = len(self.messages)
        response = await super()._send(request)
        if len(self.messages) > before:
            now = time.perf_counter()
            self.first = self.first if self.first is not None else now
            self.last = now
        return response


# --- the pieces: database, Redis, worker -------------------------------------------------


async def _on_server(server: sa.URL, statement: str) -> None:
    """Run CREATE/DROP DATABASE, which cannot run inside a transaction."""
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def bench_database() -> AsyncIterator[str]:
    """A database of the benchmark's own, migrated; dropped at the end."""
    server = make_url(os.environ.get("DOORSTEP_BENCH_DATABASE_URL", DEFAULT_SERVER_URL))
    name = f"doorstep_bench_{uuid.uuid4().hex[:12]}"
    try:
        await _on_server(server, f'CREATE DATABASE "{name}"')
    except (OSError, SQLAlchemyError) as exc:
        where = server.render_as_string(hide_password=True)
        raise BenchError(f"could not create a database on {where}: {exc}") from exc
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade(url)
        yield url
    finally:
        await _on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def bench_redis(log_dir: Path) -> AsyncIterator[str]:
    """DOORSTEP_BENCH_REDIS_URL, or a private redis-server on a free port."""
    given = os.environ.get("DOORSTEP_BENCH_REDIS_URL")
    if given:
        yield given
        return
    async with RedisServer(log_file=log_dir / "redis.log") as server:
        yield server.url


@asynccontextmanager
async def worker_process(env: dict[str, str], log: Path) -> AsyncIterator[None]:
    """One ``doorstep worker`` subprocess, stopped (SIGTERM, then SIGKILL) at the end."""
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli.main",
            "worker",
            env=env,
            cwd=log.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield
        if process.returncode is not None:
            raise BenchError(f"the worker exited with {process.returncode}; see {log}")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


def base_worker_env(settings: Settings) -> dict[str, str]:
    """The worker's environment: this process's, pointed at the benchmark's database and
    Redis, delivering live (the caller adds where the providers are)."""
    env = dict(os.environ)
    env.update(
        {
            "DOORSTEP_DATABASE_URL": settings.database_url,
            "DOORSTEP_REDIS_URL": settings.effective_redis_url,
            "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
            "DOORSTEP_SECRET_KEY": settings.secret_key,
            "DOORSTEP_VAR_DIR": str(settings.var_dir),
            "DOORSTEP_DELIVERY": "live",
        }
    )
    return env


def worker_env(settings: Settings, expo: FakeExpo) -> dict[str, str]:
    return {
        **base_worker_env(settings),
        "DOORSTEP_EXPO_PUSH_URL": expo.send_url,
        "DOORSTEP_EXPO_RECEIPTS_URL": expo.receipts_url,
    }


# --- data ------------------------------------------------------------------------------


async def seed(services: Services, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """One organisation of ``count`` organisers, each with one Expo device."""
    async with services.db.session() as session:
        org = Organisation(name="Benchmark")
        session.add(org)
        await session.flush()
        org_id = org.id
        await session.commit()
    users = await add_organisers(services.db, org_id, count, chunk=SEED_CHUNK)
    return org_id, [u.id for u in users]


async def stage(
    services: Services, org_id: uuid.UUID, user_ids: Sequence[uuid.UUID], specs: int, key: str
) -> datetime:
    """Stage the notifications in one transaction; returns when they were committed."""
    size = -(-len(user_ids) // specs)
    async with services.db.session() as session:
        for n, start in enumerate(range(0, len(user_ids), size)):
            stage_notification(
                session,
                NotifySpec(
                    organisation_id=org_id,
                    user_ids=list(user_ids[start : start + size]),
                    template="system",
                    event_key=f"{key}-{n}",
                    params={"title": "Meeting tonight", "body": "7pm at the community hall"},
                ),
            )
        await session.commit()
    return datetime.now(UTC)


def _of_event(key: str) -> sa.ColumnElement[bool]:
    """Deliveries of the events whose keys start with ``key`` (staged as f"{key}-{n}"),
    or of one event's notifications when ``key`` ends with ":" (f"{event_key}:")."""
    pattern = key + "%" if key.endswith(":") else f"{key}-%"
    return col(Delivery.notification_id).in_(
        sa.select(col(Notification.id)).where(col(Notification.dedupe_key).like(pattern))
    )


async def statuses(services: Services, key: str) -> Counter[DeliveryStatus]:
    async with services.db.session() as session:
        rows = await session.execute(
            sa.select(col(Delivery.status), sa.func.count())
            .where(_of_event(key))
            .group_by(col(Delivery.status))
        )
        return Counter({DeliveryStatus(s): n for s, n in rows.all()})


async def wait_final(services: Services, key: str, total: int, seconds: float) -> None:
    """Until every delivery of the event is final, printing progress now and then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    shown = loop.time()
    while True:
        counts = await statuses(services, key)
        done = sum(n for s, n in counts.items() if s in FINAL)
        if done >= total:
            return
        if loop.time() >= deadline:
            raise BenchError(f"gave up after {seconds:.0f} s with {done}/{total} deliveries final")
        if loop.time() - shown >= 5:
            print(f"  ... {counts[DeliveryStatus.SENT]}/{total} sent", flush=True)
            shown = loop.time()
        await asyncio.sleep(0.25)


async def last_sent_at(services: Services, key: str) -> datetime:
    async with services.db.session() as session:
        value = await session.scalar(sa.select(sa.func.max(Delivery.sent_at)).where(_of_event(key)))
    if value is None:
        raise BenchError("no delivery was sent")
    result: datetime = value
    return result


async def check_once(services: Services, expo: FakeExpo, key: str, figures: Figures) -> None:
    counts = expo.delivery_counts()
    async with services.db.session() as session:
        rows = (
            await session.execute(
                sa.select(col(Delivery.id), col(Delivery.status)).where(_of_event(key))
            )
        ).all()
    figures.distinct = len(counts)
    figures.duplicates = sum(n - 1 for n in counts.values() if n > 1)
    figures.missing = len({str(r.id) for r in rows} - set(counts))
    figures.not_sent = Counter(str(r.status) for r in rows if r.status is not DeliveryStatus.SENT)


# --- redis-benchmark -------------------------------------------------------------------


async def redis_benchmark(redis_url: str) -> dict[str, float]:
    """LPUSH and RPOP requests per second from ``redis-benchmark`` against this Redis."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise BenchError("redis-benchmark is not on PATH (apt-get install redis-tools)")
    url = urlsplit(redis_url)
    args = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379)]
    if url.path.strip("/"):
        args += ["--dbnum", url.path.strip("/")]
    if url.password:
        args += ["-a", unquote(url.password)]
    print(f"$ redis-benchmark {' '.join([*args, *REDIS_BENCHMARK])}", flush=True)
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        *REDIS_BENCHMARK,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise BenchError("redis-benchmark did not finish in 120 s") from exc
    text = output.decode(errors="replace")
    rates = {
        m.group(1).upper(): float(m.group(2))
        for m in re.finditer(r"(\w+): ([\d.]+) requests per second", text)
    }
    if not {"LPUSH", "RPOP"} <= rates.keys():
        raise BenchError(f"could not read redis-benchmark's output: {text[-500:]!r}")
    return rates


# --- the run ---------------------------------------------------------------------------


def bench_settings(database_url: str, redis_url: str, var_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"doorstep-bench:{uuid.uuid4().hex[:8]}:",
        secret_key=secrets.token_urlsafe(48),
        var_dir=var_dir,
    )


async def _warm_up(services: Services, expo: TimedExpo, org_id: uuid.UUID, user: uuid.UUID) -> None:
    """One push through the whole pipeline, so the timed run starts with a warm worker."""
    await stage(services, org_id, [user], 1, "bench-warmup")
    await wait_final(services, "bench-warmup", 1, WARMUP_SECONDS)
    expo.reset()


async def measure(options: Options, work_dir: Path) -> Figures:
    figures = Figures(users=options.users)
    async with AsyncExitStack() as stack:
        expo = await stack.enter_async_context(TimedExpo())
        print("creating the benchmark database ...", flush=True)
        database_url = await stack.enter_async_context(bench_database())
        redis_url = await stack.enter_async_context(bench_redis(work_dir))
        settings = bench_settings(database_url, redis_url, work_dir / "var")
        services = Services.create(settings)
        stack.push_async_callback(services.close)
        print(f"seeding {options.users:,} users with one Expo device each ...", flush=True)
        org_id, user_ids = await seed(services, options.users)
        await stack.enter_async_context(
            worker_process(worker_env(settings, expo), work_dir / "worker.log")
        )
        await _warm_up(services, expo, org_id, user_ids[0])
        print(f"staging {options.specs} NotifySpecs for {options.users:,} people ...", flush=True)
        staged = await stage(services, org_id, user_ids, options.specs, RUN_KEY)
        await wait_final(services, RUN_KEY, options.users, options.timeout)
        figures.e2e_seconds = (await last_sent_at(services, RUN_KEY) - staged).total_seconds()
        if expo.first is not None and expo.last is not None:
            figures.dispatch_seconds = expo.last - expo.first
        await check_once(services, expo, RUN_KEY, figures)
        figures.redis = await redis_benchmark(redis_url)
    return figures


def report(figures: Figures, options: Options) -> None:
    lpush, rpop = figures.redis["LPUSH"], figures.redis["RPOP"]
    floor = min(lpush, rpop)
    concurrency = os.environ.get(
        "DOORSTEP_WORKER_CONCURRENCY", str(Settings.model_fields["worker_concurrency"].default)
    )
    lines = [
        "",
        f"notifications: {figures.users:,} Expo pushes, one worker process "
        f"(concurrency {concurrency}), {options.specs} NotifySpecs",
        f"  end to end (staged -> last SENT)   {figures.e2e_seconds:7.2f} s  "
        f"{figures.e2e_rate:8.0f} notifications/s",
        f"  dispatch (first -> last at Expo)   {figures.dispatch_seconds:7.2f} s  "
        f"{figures.dispatch_rate:8.0f} notifications/s",
        f"  exactly once at the fake: {'yes' if figures.exactly_once else 'NO'} "
        f"({figures.distinct:,} distinct deliveries, {figures.duplicates} duplicates, "
        f"{figures.missing} missing, not SENT: {dict(figures.not_sent) or 0})",
        f"redis: LPUSH {lpush:,.0f} requests/s, RPOP {rpop:,.0f} requests/s",
        f"  ratio notifications/s / min(LPUSH, RPOP): {figures.e2e_rate / floor:.4f} end to end, "
        f"{figures.dispatch_rate / floor:.4f} dispatch",
    ]
    print("\n".join(lines), flush=True)


def parse(argv: Sequence[str]) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench notifications", description=__doc__)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--specs", type=int, default=defaults.specs, help="NotifySpecs to stage")
    parser.add_argument(
        "--timeout", type=float, default=defaults.timeout, help="seconds to wait for all SENT"
    )
    args = parser.parse_args(argv)
    if args.users < 1 or args.specs < 1 or args.specs > args.users:
        parser.error("need 1 <= --specs <= --users")
    return Options(users=args.users, specs=args.specs, timeout=args.timeout)


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="doorstep-bench-"))
    try:
        figures = asyncio.run(measure(options, work_dir))
    except BenchError as exc:
        print(f"notifications benchmark failed: {exc}\n  logs kept in {work_dir}", file=sys.stderr)
        return 1
    report(figures, options)
    if not figures.exactly_once:
        print(f"  exactly-once check FAILED; logs kept in {work_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0
