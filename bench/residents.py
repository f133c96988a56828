"""Residents benchmark: one "you said, we did" update to 10,000 residents who asked to hear
back, half by email and half by SMS, through the real pipeline and ONE worker.

outbox -> relay -> saq on Redis -> handle_outbox (bulk expansion) -> deliveries -> dispatch
-> a fake SMTP server and a fake Twilio served from this process, over real sockets.
Prints messages per second end to end (staging to the last SENT), the expansion alone
(staging to the outbox row processed) and each channel's dispatch (its fake's first to
last message), checks every resident got exactly one message, then runs redis-benchmark
against the same Redis as the anchor the figures are read against.

Environment: as ``python -m bench notifications`` (DOORSTEP_BENCH_DATABASE_URL,
DOORSTEP_BENCH_REDIS_URL, other DOORSTEP_* variables reach the worker).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response

from bench.notifications import (
    BenchError,
    base_worker_env,
    bench_database,
    bench_redis,
    bench_settings,
    last_sent_at,
    redis_benchmark,
    statuses,
    wait_final,
    worker_process,
)
from server.accounts.models import Organisation
from server.core.enums import ChannelName
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import DeliveryStatus
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec, ResidentRecipient
from server.outbox.models import OutboxMessage
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio

RUN_KEY = "bench-residents"
WARMUP_SECONDS = 60.0


@dataclass
class Options:
    residents: int = 10_000
    sms_share: float = 0.5
    timeout: float = 600.0


class Window:
    """When a fake accepted its first and its last message."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None

    def mark(self) -> None:
        now = time.perf_counter()
        self.first = self.first if self.first is not None else now
        self.last = now

    @property
    def seconds(self) -> float:
        return (self.last - self.first) if self.first is not None and self.last else 0.0


class TimedSmtp(FakeSmtp):
    def __init__(self) -> None:
        super().__init__()
        self.window = Window()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.window.mark()
        return answer


class TimedTwilio(FakeTwilio):
    def __init__(self) -> None:
        super().__init__()
        self.window = Window()

    async def _create(self, request: Request) -> Response:
        response = await super()._create(request)
        self.window.mark()
        return response


@dataclass
class Figures:
    residents: int
    emails: int
    sms: int
    e2e_seconds: float = 0.0
    expansion_seconds: float = 0.0
    email_seconds: float = 0.0
    sms_seconds: float = 0.0
    duplicates: int = 0
    missing: int = 0
    not_sent: Counter[str] = field(default_factory=Counter)
    redis: dict[str, float] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        return not (self.duplicates or self.missing or self.not_sent)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


def recipients(count: int, sms_share: float) -> list[ResidentRecipient]:
    """What the caller resolves from the residents who asked to hear back."""
    sms = round(count * sms_share)
    return [
        ResidentRecipient(uuid.uuid4(), ChannelName.SMS, f"+4477{n:08d}")
        if n < sms
        else ResidentRecipient(uuid.uuid4(), ChannelName.EMAIL, f"r{n}@residents.test")
        for n in range(count)
    ]


async def stage(
    services: Services, org_id: uuid.UUID, residents: list[ResidentRecipient], key: str
) -> datetime:
    """One event for every resident, staged in one transaction; returns the commit time."""
    async with services.db.session() as session:
        stage_notification(
            session,
            NotifySpec(
                organisation_id=org_id,
                user_ids=[],
                template="resident_message",
                event_key=f"{key}-0",
                params={
                    "title": "You said, we did",
                    "body": "You asked for safer crossings: the council starts work in March.",
                },
                residents=residents,
            ),
        )
        await session.commit()
    return datetime.now(UTC)


async def processed_at(services: Services, key: str) -> datetime:
    async with services.db.session() as session:
        value = await session.scalar(
            sa.select(col(OutboxMessage.processed_at)).where(
                col(OutboxMessage.dedupe_key) == f"notify:{key}-0"
            )
        )
    if value is None:
        raise BenchError("the staged event was never processed")
    result: datetime = value
    return result


def check_once(
    smtp: FakeSmtp, twilio: FakeTwilio, residents: list[ResidentRecipient], figures: Figures
) -> None:
    told = Counter[str]()
    for mail in smtp.received:
        told.update(mail.rcpt_tos)
    told.update(sms.form["To"] for sms in twilio.sent)
    figures.duplicates = sum(n - 1 for n in told.values() if n > 1)
    figures.missing = len({r.address for r in residents} - set(told))


def provider_env(settings: Settings, smtp: FakeSmtp, twilio: FakeTwilio) -> dict[str, str]:
    env = base_worker_env(settings)
    for name, value in {**smtp.settings(), **twilio.settings()}.items():
        env[f"DOORSTEP_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else value
    env["DOORSTEP_PUBLIC_URL"] = "http://doorstep.bench"
    return env


async def _warm_up(
    services: Services, org_id: uuid.UUID, smtp: TimedSmtp, twilio: TimedTwilio
) -> None:
    """One email and one SMS through the whole pipeline, so the timed run starts warm."""
    warm = [
        ResidentRecipient(uuid.uuid4(), ChannelName.SMS, "+447000000001"),
        ResidentRecipient(uuid.uuid4(), ChannelName.EMAIL, "warm@residents.test"),
    ]
    await stage(services, org_id, warm, "bench-warmup")
    await wait_final(services, "bench-warmup", 2, WARMUP_SECONDS)
    smtp.received.clear()
    twilio.sent.clear()
    smtp.window, twilio.window = Window(), Window()


async def measure(options: Options, work_dir: Path) -> Figures:
    residents = recipients(options.residents, options.sms_share)
    sms = sum(r.channel is ChannelName.SMS for r in residents)
    figures = Figures(residents=len(residents), emails=len(residents) - sms, sms=sms)
    async with AsyncExitStack() as stack:
        smtp = await stack.enter_async_context(TimedSmtp())
        twilio = await stack.enter_async_context(TimedTwilio())
        print("creating the benchmark database ...", flush=True)
        database_url = await stack.enter_async_context(bench_database())
        redis_url = await stack.enter_async_context(bench_redis(work_dir))
        settings = bench_settings(database_url, redis_url, work_dir / "var")
        services = Services.create(settings)
        stack.push_async_callback(services.close)
        async with services.db.session() as session:
            org = Organisation(name="Benchmark")
            session.add(org)
            await session.commit()
            org_id = org.id
        env = provider_env(settings, smtp, twilio)
        await stack.enter_async_context(worker_process(env, work_dir / "worker.log"))
        await _warm_up(services, org_id, smtp, twilio)
        print(
            f"staging one update to {len(residents):,} residents "
            f"({figures.emails:,} by email, {sms:,} by SMS) ...",
            flush=True,
        )
        staged = await stage(services, org_id, residents, RUN_KEY)
        await wait_final(services, RUN_KEY, len(residents), options.timeout)
        figures.e2e_seconds = (await last_sent_at(services, RUN_KEY) - staged).total_seconds()
        figures.expansion_seconds = (await processed_at(services, RUN_KEY) - staged).total_seconds()
        figures.email_seconds = smtp.window.seconds
        figures.sms_seconds = twilio.window.seconds
        counts = await statuses(services, RUN_KEY)
        figures.not_sent = Counter(
            {str(s): n for s, n in counts.items() if s is not DeliveryStatus.SENT and n}
        )
        check_once(smtp, twilio, residents, figures)
        figures.redis = await redis_benchmark(redis_url)
    return figures


def report(figures: Figures) -> None:
    lpush, rpop = figures.redis["LPUSH"], figures.redis["RPOP"]
    floor = min(lpush, rpop)
    e2e = rate(figures.residents, figures.e2e_seconds)
    concurrency = os.environ.get(
        "DOORSTEP_WORKER_CONCURRENCY", str(Settings.model_fields["worker_concurrency"].default)
    )
    rows: list[tuple[str, float, float]] = [
        ("end to end (staged -> last SENT)", figures.e2e_seconds, e2e),
        (
            "expansion (staged -> rows created)",
            figures.expansion_seconds,
            rate(figures.residents, figures.expansion_seconds),
        ),
        (
            f"email dispatch ({figures.emails:,} at SMTP)",
            figures.email_seconds,
            rate(figures.emails, figures.email_seconds),
        ),
        (
            f"SMS dispatch ({figures.sms:,} at Twilio)",
            figures.sms_seconds,
            rate(figures.sms, figures.sms_seconds),
        ),
    ]
    lines = [
        "",
        f"residents: one update to {figures.residents:,} residents, one worker process "
        f"(concurrency {concurrency})",
        *(f"  {name:<38} {secs:7.2f} s  {per:8.0f} messages/s" for name, secs, per in rows),
        f"  exactly once at the fakes: {'yes' if figures.exactly_once else 'NO'} "
        f"({figures.duplicates} duplicates, {figures.missing} missing, "
        f"not SENT: {dict(figures.not_sent) or 0})",
        f"redis: LPUSH {lpush:,.0f} requests/s, RPOP {rpop:,.0f} requests/s",
        f"  ratio messages/s / min(LPUSH, RPOP): {e2e / floor:.4f} end to end",
    ]
    print("\n".join(lines), flush=True)


def parse(argv: Sequence[str]) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench residents", description=__doc__)
    parser.add_argument("--residents", type=int, default=defaults.residents)
    parser.add_argument(
        "--sms-share", type=float, default=defaults.sms_share, help="the part reached by SMS"
    )
    parser.add_argument(
        "--timeout", type=float, default=defaults.timeout, help="seconds to wait for all SENT"
    )
    args = parser.parse_args(argv)
    if args.residents < 1 or not 0 <= args.sms_share <= 1:
        parser.error("need --residents >= 1 and 0 <= --sms-share <= 1")
    return Options(residents=args.residents, sms_share=args.sms_share, timeout=args.timeout)


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="doorstep-bench-residents-"))
    try:
        figures = asyncio.run(measure(options, work_dir))
    except BenchError as exc:
        print(f"residents benchmark failed: {exc}\n  logs kept in {work_dir}", file=sys.stderr)
        return 1
    report(figures)
    if not figures.exactly_once:
        print(f"  exactly-once check FAILED; logs kept in {work_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0
