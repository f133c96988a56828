"""Residents benchmark: one "you said, we did" update published to a campaign of 10,000
residents who asked to hear back (met in its conversations), half reached by email and
half by SMS, through the real pipeline and ONE worker.

publish_update (recipients gathered in two statements, one event staged) -> outbox -> relay
-> saq on Redis -> handle_outbox (bulk expansion) -> deliveries -> dispatch -> a fake SMTP
server and a fake Twilio served from this process, over real sockets. Residents of the
campaign without hear-back consent are seeded too and must not be told. Prints messages per
second end to end (publish called to the last SENT), the publish transaction alone, the
expansion (publish committed to the outbox row processed) and each channel's dispatch (its
fake's first to last message), checks every resident got exactly one message, then runs
redis-benchmark against the same Redis as the anchor the figures are read against.

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
from typing import Any

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
from server.accounts.models import Organisation, User
from server.campaigns.enums import CampaignKind, CampaignStatus
from server.campaigns.models import Campaign, Conversation, Resident
from server.core.bulk import insert_rows
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import DeliveryStatus
from server.outbox.models import OutboxMessage
from server.residents.updates import publish_update
from server.security.access import Actor
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio import FakeTwilio

TITLE = "You said, we did: safer crossings"
BODY = "You asked for safer crossings on Elm Road: the council starts work in March."
SEED_CHUNK = 5000
Row = dict[str, Any]
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
    publish_seconds: float = 0.0
    expansion_seconds: float = 0.0
    email_seconds: float = 0.0
    sms_seconds: float = 0.0
    duplicates: int = 0
    missing: int = 0
    strangers: int = 0  # told without having asked to hear back
    not_sent: Counter[str] = field(default_factory=Counter)
    redis: dict[str, float] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        return not (self.duplicates or self.missing or self.strangers or self.not_sent)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


@dataclass(frozen=True)
class Seeded:
    actor: Actor
    campaign_id: uuid.UUID
    addresses: set[str]  # of the residents who must be told


def _residents(org_id: uuid.UUID, count: int, sms_share: float, hear_back: bool) -> list[Row]:
    now = utcnow()
    sms = round(count * sms_share)
    tag = "r" if hear_back else "quiet"
    return [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "organisation_id": org_id,
            "email": None if n < sms else f"{tag}{n}@residents.test",
            "phone": f"+44{7 if hear_back else 8}7{n:08d}",
            "store_details": True,
            "contact_again": hear_back,
            "hear_back": hear_back,
            "consent_recorded_at": now,
        }
        for n in range(count)
    ]


async def seed(services: Services, count: int, sms_share: float) -> Seeded:
    """An organisation, its admin, a campaign of ``count`` residents who asked to hear back
    and a tenth as many who did not, each met in one of its conversations; the tables
    analysed after the load, as autovacuum would."""
    async with services.db.session() as session:
        org = Organisation(name=f"Benchmark {uuid.uuid4().hex[:8]}")
        session.add(org)
        await session.flush()
        admin = User(
            organisation_id=org.id,
            email=f"admin@{org.id}.test",
            display_name="Admin",
            role=Role.ADMIN,
        )
        campaign = Campaign(
            organisation_id=org.id,
            kind=CampaignKind.LISTENING,
            title="Safer crossings",
            status=CampaignStatus.ACTIVE,
        )
        session.add_all([admin, campaign])
        await session.flush()
        told = _residents(org.id, count, sms_share, hear_back=True)
        quiet = _residents(org.id, max(count // 10, 1), sms_share, hear_back=False)
        now = utcnow()
        conversations = [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "organisation_id": org.id,
                "campaign_id": campaign.id,
                "organiser_id": admin.id,
                "resident_id": resident["id"],
                "version": 1,
                "content_hash": "0" * 64,
                "occurred_at": now,
                "question_set_version": 1,
            }
            for resident in told + quiet
        ]
        for start in range(0, len(told + quiet), SEED_CHUNK):
            await insert_rows(session, Resident, (told + quiet)[start : start + SEED_CHUNK])
        for start in range(0, len(conversations), SEED_CHUNK):
            await insert_rows(session, Conversation, conversations[start : start + SEED_CHUNK])
        await session.commit()
        for table in ("residents", "conversations"):  # as autovacuum would after a load
            await session.execute(sa.text(f"ANALYZE {table}"))
        await session.commit()
        actor = Actor(admin.id, org.id, Role.ADMIN)
        return Seeded(actor, campaign.id, {r["email"] or r["phone"] for r in told})


async def publish(services: Services, seeded: Seeded, title: str, body: str) -> str:
    """The update published as the mutation does it; returns its event's key prefix."""
    async with services.db.session() as session:
        update = await publish_update(session, seeded.actor, seeded.campaign_id, title, body)
        await session.commit()
    return f"campaign_update:{update.id}:"


async def processed_at(services: Services, key: str) -> datetime:
    async with services.db.session() as session:
        value = await session.scalar(
            sa.select(col(OutboxMessage.processed_at)).where(
                col(OutboxMessage.dedupe_key) == f"notify:{key.rstrip(':')}"
            )
        )
    if value is None:
        raise BenchError("the staged event was never processed")
    result: datetime = value
    return result


def check_once(smtp: FakeSmtp, twilio: FakeTwilio, expected: set[str], figures: Figures) -> None:
    told = Counter[str]()
    for mail in smtp.received:
        told.update(mail.rcpt_tos)
    told.update(sms.form["To"] for sms in twilio.sent)
    figures.duplicates = sum(n - 1 for n in told.values() if n > 1)
    figures.missing = len(expected - set(told))
    figures.strangers = len(set(told) - expected)


def provider_env(settings: Settings, smtp: FakeSmtp, twilio: FakeTwilio) -> dict[str, str]:
    env = base_worker_env(settings)
    for name, value in {**smtp.settings(), **twilio.settings()}.items():
        env[f"DOORSTEP_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else value
    env["DOORSTEP_PUBLIC_URL"] = "http://doorstep.bench"
    return env


async def _warm_up(services: Services, smtp: TimedSmtp, twilio: TimedTwilio) -> None:
    """One update to a campaign of two (an email, an SMS) through the whole pipeline, so
    the timed run starts warm."""
    seeded = await seed(services, 2, 0.5)
    key = await publish(services, seeded, "Warming up", "The pipeline starts warm.")
    await wait_final(services, key, 2, WARMUP_SECONDS)
    smtp.received.clear()
    twilio.sent.clear()
    smtp.window, twilio.window = Window(), Window()


async def measure(options: Options, work_dir: Path) -> Figures:
    async with AsyncExitStack() as stack:
        smtp = await stack.enter_async_context(TimedSmtp())
        twilio = await stack.enter_async_context(TimedTwilio())
        print("creating the benchmark database ...", flush=True)
        database_url = await stack.enter_async_context(bench_database())
        redis_url = await stack.enter_async_context(bench_redis(work_dir))
        settings = bench_settings(database_url, redis_url, work_dir / "var")
        services = Services.create(settings)
        stack.push_async_callback(services.close)
        env = provider_env(settings, smtp, twilio)
        await stack.enter_async_context(worker_process(env, work_dir / "worker.log"))
        await _warm_up(services, smtp, twilio)
        print(f"seeding a campaign of {options.residents:,} residents ...", flush=True)
        seeded = await seed(services, options.residents, options.sms_share)
        sms = round(options.residents * options.sms_share)
        figures = Figures(residents=options.residents, emails=options.residents - sms, sms=sms)
        print(
            f"publishing one update to {options.residents:,} residents "
            f"({figures.emails:,} by email, {sms:,} by SMS) ...",
            flush=True,
        )
        started = datetime.now(UTC)
        key = await publish(services, seeded, TITLE, BODY)
        committed = datetime.now(UTC)
        await wait_final(services, key, options.residents, options.timeout)
        figures.e2e_seconds = (await last_sent_at(services, key) - started).total_seconds()
        figures.publish_seconds = (committed - started).total_seconds()
        figures.expansion_seconds = (await processed_at(services, key) - committed).total_seconds()
        figures.email_seconds = smtp.window.seconds
        figures.sms_seconds = twilio.window.seconds
        counts = await statuses(services, key)
        figures.not_sent = Counter(
            {str(s): n for s, n in counts.items() if s is not DeliveryStatus.SENT and n}
        )
        check_once(smtp, twilio, seeded.addresses, figures)
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
        ("end to end (publish -> last SENT)", figures.e2e_seconds, e2e),
        (
            "publish (recipients gathered, staged)",
            figures.publish_seconds,
            rate(figures.residents, figures.publish_seconds),
        ),
        (
            "expansion (committed -> rows created)",
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
        f"residents: one campaign update to {figures.residents:,} residents, one worker process "
        f"(concurrency {concurrency})",
        *(f"  {name:<38} {secs:7.2f} s  {per:8.0f} messages/s" for name, secs, per in rows),
        f"  exactly once at the fakes: {'yes' if figures.exactly_once else 'NO'} "
        f"({figures.duplicates} duplicates, {figures.missing} missing, "
        f"{figures.strangers} without consent, "
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
