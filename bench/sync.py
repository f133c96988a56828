"""``python -m bench sync``: offline sync and the campaign report, on PostgreSQL.

1. SyncConversations (tests/contract/organiser.graphql) with ``--items`` (500) new
   conversations, each with a resident who consented, a follow-up and three answers,
   through the ASGI app in this process (middleware, authentication, GraphQL, the domain
   code: everything but the socket); then the same batch replayed (all UNCHANGED). Beside
   it, in the same run, the floor: raw asyncpg inserting the same rows (residents, their
   three consent lines, conversations, answers, chosen options, themes, follow-ups) with
   ``copy_records_to_table`` in one transaction; and what sync's report tallies cost for
   those rows (read and upserted, then rolled back). Needs the ``syncConversations`` mutation:
   without it the part says "syncConversations not available" and the rest still runs.
2. CampaignReport on a campaign with ``--conversations`` (100,000) conversations, 20
   themes (one or two per conversation), three answers each and a resident for half of
   them, seeded with ``copy_records_to_table`` (then VACUUM ANALYZE, as autovacuum would):
   then its tallies counted from those rows (``server/campaigns/tallies.py`` rebuild);
   the whole operation through the app, and beside it the report's statements alone
   (``server/campaigns/report.py`` on a session, no HTTP or GraphQL). ``--explain`` prints
   PostgreSQL's plans of those statements.

``--only sync`` or ``--only report`` runs one part.

Medians of ``--runs`` runs (each sync run sends a fresh batch). The app runs with the
collector settings ``doorstep serve`` gives it (``settled_gc`` in server/web/app.py).
Aims: sync under 0.5 s, replay under 0.15 s, report under 100 ms. Environment:
DOORSTEP_BENCH_DATABASE_URL and DOORSTEP_BENCH_REDIS_URL as for the notifications
benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlmodel import SQLModel

from bench.notifications import BenchError, bench_database, bench_redis, bench_settings
from schema import schema
from server.accounts.models import Organisation, User
from server.campaigns import report, tallies
from server.campaigns.enums import CampaignKind, CampaignStatus, ConsentKind, QuestionKind
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Campaign,
    CampaignOrganiser,
    Consent,
    Conversation,
    ConversationTheme,
    FollowUp,
    QuestionSet,
    Resident,
    Theme,
)
from server.core.enums import Role
from server.core.services import Services
from server.security.tokens import AccessClaims
from server.web.app import create_app, settled_gc
from tests.contract_ops import op

THEMES = 20
CHOICES = ["Bins", "Parking", "Noise", "Damp", "Lighting"]


@dataclass
class Options:
    items: int = 500
    conversations: int = 100_000
    runs: int = 5
    explain: bool = False
    only: str | None = None


@dataclass
class Figures:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.seconds.setdefault(name, []).append(seconds)

    def median(self, name: str) -> float | None:
        runs = self.seconds.get(name)
        return statistics.median(runs) if runs else None


@dataclass
class World:
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    admin_id: uuid.UUID
    campaign_id: uuid.UUID
    questions: list[uuid.UUID]  # SCALE, YES_NO, SINGLE_CHOICE


def has_mutation(name: str) -> bool:
    mutation = schema._schema.mutation_type
    return mutation is not None and name in mutation.fields


# --- rows ------------------------------------------------------------------------------


def _record(model: type[SQLModel], values: dict[str, Any]) -> tuple[Any, ...]:
    """A row of ``model``'s table for copy_records_to_table, in column order; JSON as text."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    out = []
    for column in table.columns:
        value = values.get(column.name)
        default = column.default
        if column.name not in values and isinstance(default, ScalarElementColumnDefault):
            value = default.arg  # the model's plain default (False, 1, ...)
        if isinstance(column.type, sa.JSON) and value is not None:
            value = json.dumps(value)
        out.append(value)
    return tuple(out)


def _columns(model: type[SQLModel]) -> list[str]:
    return [c.name for c in model.__table__.columns]  # type: ignore[attr-defined]


Rows = dict[type[SQLModel], list[tuple[Any, ...]]]


def sync_rows(world: World, theme_id: uuid.UUID, n: int, now: datetime) -> Rows:
    """What a sync of ``n`` items stores, as rows (the floor inserts these)."""
    rows: Rows = {m: [] for m in (Resident, Consent, Conversation, Answer, AnswerChoice,
                                  ConversationTheme, FollowUp)}  # fmt: skip
    org, campaign = world.organisation_id, world.campaign_id
    stamp = {"created_at": now, "updated_at": now, "organisation_id": org}
    for i in range(n):
        resident, conversation = uuid.uuid4(), uuid.uuid4()
        rows[Resident].append(_record(Resident, {**stamp, "id": resident, "name": f"R {i}",
            "postcode": "E1 4AB", "email": f"r{i}@example.org", "store_details": True,
            "contact_again": True, "hear_back": True, "consent_recorded_at": now}))  # fmt: skip
        for kind in ConsentKind:
            rows[Consent].append(_record(Consent, {**stamp, "id": uuid.uuid4(),
                "resident_id": resident, "kind": kind.value, "granted": True,
                "method": "DOORSTEP", "recorded_at": now,
                "recorded_by_id": world.organiser_id}))  # fmt: skip
        rows[Conversation].append(_record(Conversation, {**stamp, "id": conversation,
            "campaign_id": campaign, "organiser_id": world.organiser_id,
            "resident_id": resident, "version": 1, "content_hash": "0" * 64,
            "occurred_at": now, "question_set_version": 1, "interest_level": 3,
            "wants_involvement": True}))  # fmt: skip
        where = {"conversation_id": conversation, "campaign_id": campaign,
                 "question_set_version": 1}  # fmt: skip
        scale, yes_no, single = world.questions
        rows[Answer] += [
            _record(Answer, {**where, "question_id": scale, "number": 4}),
            _record(Answer, {**where, "question_id": yes_no, "number": 1}),
            _record(Answer, {**where, "question_id": single, "choices": ["Bins"]}),
        ]
        rows[AnswerChoice].append(
            _record(AnswerChoice, {**where, "question_id": single, "choice": "Bins"})
        )
        rows[ConversationTheme].append(_record(ConversationTheme, {"conversation_id":
            conversation, "theme_id": theme_id, "campaign_id": campaign}))  # fmt: skip
        rows[FollowUp].append(_record(FollowUp, {**stamp, "id": uuid.uuid4(),
            "campaign_id": campaign, "conversation_id": conversation, "resident_id": resident,
            "assignee_id": world.organiser_id, "created_by_id": world.organiser_id,
            "due_at": now + timedelta(days=2), "status": "OPEN"}))  # fmt: skip
    return rows


def sync_batch(world: World, n: int, now: datetime) -> dict[str, Any]:
    """The SyncConversationsInput of ``n`` new conversations, as the app sends it."""
    scale, yes_no, single = (str(q) for q in world.questions)
    at = now.isoformat()
    return {
        "installationId": str(uuid.uuid4()),
        "conversations": [
            {
                "id": str(uuid.uuid4()),
                "campaignId": str(world.campaign_id),
                "baseVersion": None,
                "occurredAt": at,
                "questionSetVersion": 1,
                "answers": [
                    {"questionId": scale, "number": 4},
                    {"questionId": yes_no, "number": 1},
                    {"questionId": single, "choices": ["Bins"]},
                ],
                "themes": ["Bins"],
                "interestLevel": 3,
                "wantsInvolvement": True,
                "notes": None,
                "resident": {
                    "id": str(uuid.uuid4()),
                    "name": f"Resident {i}",
                    "postcode": "E1 4AB",
                    "email": f"resident{i}@example.org",
                    "phone": None,
                    "consent": {
                        "storeDetails": True,
                        "contactAgain": True,
                        "hearBack": True,
                        "recordedAt": at,
                    },
                },
                "followUp": {
                    "id": str(uuid.uuid4()),
                    "dueAt": (now + timedelta(days=2)).isoformat(),
                    "note": "Call back",
                },
            }
            for i in range(n)
        ],
    }


async def copy_rows(conn: asyncpg.Connection, rows: Rows) -> None:
    async with conn.transaction():
        for model, records in rows.items():
            if records:
                await conn.copy_records_to_table(
                    str(model.__tablename__),
                    records=records,
                    columns=_columns(model),
                )


# --- seeding ---------------------------------------------------------------------------


async def seed_campaign(services: Services, title: str) -> World:
    async with services.db.session() as session:
        org = Organisation(name=f"Benchmark {title}")
        session.add(org)
        await session.flush()
        admin = User(organisation_id=org.id, email=f"admin-{org.id}@bench.test",
                     display_name="Bench Admin", role=Role.ADMIN)  # fmt: skip
        organiser = User(organisation_id=org.id, email=f"organiser-{org.id}@bench.test",
                         display_name="Bench Organiser", role=Role.ORGANISER)  # fmt: skip
        campaign = Campaign(organisation_id=org.id, kind=CampaignKind.LISTENING, title=title,
                            status=CampaignStatus.ACTIVE, target_conversations=1000)  # fmt: skip
        session.add_all([admin, organiser, campaign])
        await session.flush()
        session.add(CampaignOrganiser(campaign_id=campaign.id, user_id=organiser.id))
        questions = [uuid.uuid4() for _ in range(3)]
        kinds = (QuestionKind.SCALE, QuestionKind.YES_NO, QuestionKind.SINGLE_CHOICE)
        session.add(
            QuestionSet(
                organisation_id=org.id,
                campaign_id=campaign.id,
                version=1,
                questions=[
                    {
                        "id": str(q),
                        "kind": k.value,
                        "prompt": f"Question {n}",
                        "choices": CHOICES if k is QuestionKind.SINGLE_CHOICE else [],
                        "required": False,
                    }
                    for n, (q, k) in enumerate(zip(questions, kinds, strict=True))
                ],
            )
        )
        await session.commit()
    return World(org.id, organiser.id, admin.id, campaign.id, questions)


async def seed_report(conn: asyncpg.Connection, world: World, n: int) -> float:
    """``n`` conversations with themes, answers and (half) residents; the copy's seconds."""
    rng = random.Random(1)
    now = datetime.now(UTC)
    org, campaign = world.organisation_id, world.campaign_id
    stamp = {"created_at": now, "updated_at": now, "organisation_id": org}
    themes = [uuid.uuid4() for _ in range(THEMES)]
    rows: Rows = {m: [] for m in (Theme, Resident, Conversation, Answer, AnswerChoice,
                                  ConversationTheme)}  # fmt: skip
    rows[Theme] = [_record(Theme, {**stamp, "id": t, "key": f"theme {i}", "name": f"Theme {i}"})
                   for i, t in enumerate(themes)]  # fmt: skip
    scale, yes_no, single = world.questions
    for i in range(n):
        conversation = uuid.uuid4()
        resident = uuid.uuid4() if i % 2 == 0 else None
        if resident:
            rows[Resident].append(_record(Resident, {**stamp, "id": resident,
                "store_details": True, "consent_recorded_at": now}))  # fmt: skip
        rows[Conversation].append(_record(Conversation, {**stamp, "id": conversation,
            "campaign_id": campaign, "organiser_id": world.organiser_id,
            "resident_id": resident, "version": 1, "content_hash": "0" * 64,
            "occurred_at": now - timedelta(minutes=rng.randrange(60 * 24 * 7 * 26)),
            "question_set_version": 1, "wants_involvement": rng.random() < 0.3}))  # fmt: skip
        where = {"conversation_id": conversation, "campaign_id": campaign,
                 "question_set_version": 1}  # fmt: skip
        choice = rng.choice(CHOICES)
        rows[Answer] += [
            _record(Answer, {**where, "question_id": scale, "number": rng.randint(1, 5)}),
            _record(Answer, {**where, "question_id": yes_no, "number": rng.randint(0, 1)}),
            _record(Answer, {**where, "question_id": single, "choices": [choice]}),
        ]
        rows[AnswerChoice].append(
            _record(AnswerChoice, {**where, "question_id": single, "choice": choice})
        )
        for theme in rng.sample(themes, rng.randint(1, 2)):
            rows[ConversationTheme].append(_record(ConversationTheme, {"conversation_id":
                conversation, "theme_id": theme, "campaign_id": campaign}))  # fmt: skip
    start = time.perf_counter()
    await copy_rows(conn, rows)
    seconds = time.perf_counter() - start
    for model in rows:
        await conn.execute(f'VACUUM ANALYZE "{model.__tablename__}"')
    return seconds


# --- measuring -------------------------------------------------------------------------


async def timed(step: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await step()
    return time.perf_counter() - start


class Api:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token = http, token

    async def op(self, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": op(name), "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise BenchError(f"{name} failed: {response.text[:500]}")
        data: dict[str, Any] = body["data"]
        return data


def _token(services: Services, world: World, user_id: uuid.UUID, role: Role) -> str:
    claims = AccessClaims(user_id, world.organisation_id, role, uuid.uuid4())
    return services.access_tokens.issue(claims)[0]


def _statuses(data: dict[str, Any]) -> set[str]:
    return {r["status"] for r in data["syncConversations"]["results"]}


async def bench_sync(
    services: Services, http: httpx.AsyncClient, conn: asyncpg.Connection, options: Options,
    figures: Figures,
) -> None:  # fmt: skip
    world = await seed_campaign(services, "Sync")
    floor_world = await seed_campaign(services, "Sync floor")
    async with services.db.session() as session:
        theme = Theme(organisation_id=floor_world.organisation_id, key="bins", name="Bins")
        session.add(theme)
        await session.commit()
    available = has_mutation("syncConversations")
    if not available:
        figures.notes.append("sync: syncConversations not available in this schema (skipped)")
    api = Api(http, _token(services, world, world.organiser_id, Role.ORGANISER))
    if available:  # warm-up: a small batch, and its replay
        batch = {"input": sync_batch(world, 5, datetime.now(UTC))}
        await api.op("SyncConversations", batch)
        await api.op("SyncConversations", batch)
    for _ in range(options.runs):
        now = datetime.now(UTC)
        rows = sync_rows(floor_world, theme.id, options.items, now)
        start = time.perf_counter()
        await copy_rows(conn, rows)
        figures.add("floor", time.perf_counter() - start)
        figures.add("tallies", await tally_cost(services, rows))
        if not available:
            continue
        batch = {"input": sync_batch(world, options.items, now)}
        for name, expected in (("sync", "CREATED"), ("replay", "UNCHANGED")):
            start = time.perf_counter()
            data = await api.op("SyncConversations", batch)
            figures.add(name, time.perf_counter() - start)
            if _statuses(data) != {expected}:
                raise BenchError(f"{name}: not all {expected}: {_statuses(data)}")


async def tally_cost(services: Services, rows: Rows) -> float:
    """What sync's tallies cost for these new conversations: their counts read and
    upserted (``Tally.add`` then ``flush``), in a transaction rolled back after."""
    at = _columns(Conversation).index("id")
    ids = [record[at] for record in rows[Conversation]]
    async with services.db.session() as session:
        start = time.perf_counter()
        tally = tallies.Tally()
        tally.add(ids)
        await tally.flush(session)
        seconds = time.perf_counter() - start
        await session.rollback()
    return seconds


async def bench_report(
    services: Services, http: httpx.AsyncClient, conn: asyncpg.Connection, options: Options,
    figures: Figures,
) -> None:  # fmt: skip
    world = await seed_campaign(services, "Report")
    print(f"seeding {options.conversations:,} conversations ...", flush=True)
    seconds = await seed_report(conn, world, options.conversations)
    figures.notes.append(f"report: seeding by copy_records_to_table took {seconds:.2f} s")
    start = time.perf_counter()
    async with services.db.session() as session:
        await tallies.rebuild(session, world.campaign_id)
        await session.commit()
    figures.notes.append(
        f"report: counting its tallies (rebuild) took {time.perf_counter() - start:.2f} s"
    )
    await conn.execute('VACUUM ANALYZE "campaign_tallies"')
    api = Api(http, _token(services, world, world.admin_id, Role.ADMIN))
    variables = {"id": str(world.campaign_id)}
    org, campaign = world.organisation_id, world.campaign_id

    async def whole() -> None:
        found = (await api.op("CampaignReport", variables))["campaign"]
        if found["stats"]["conversationCount"] != options.conversations:
            raise BenchError(f"report: wrong count {found['stats']}")

    async def statements() -> None:
        async with services.db.session() as session:
            await report.campaign_stats(session, org, [campaign])
            await report.theme_counts(session, org, campaign, 20)
            await report.answer_summary(session, org, campaign)
            await report.conversations_by_week(session, org, campaign)

    await whole()
    await statements()
    for _ in range(options.runs):
        figures.add("report", await timed(whole))
        figures.add("report statements", await timed(statements))
    if options.explain:
        await explain(services, world)


async def explain(services: Services, world: World) -> None:
    params = {"organisation_id": world.organisation_id, "campaign_id": world.campaign_id,
              "ids": [world.campaign_id], "limit": 20}  # fmt: skip
    stmts = {"stats": report._STATS, "themes": report._THEME_COUNTS,
             "answers": report._ANSWER_COUNTS, "weeks": report._WEEKS}  # fmt: skip
    async with services.db.session() as session:
        dialect = session.get_bind().dialect
        for name, stmt in stmts.items():
            sql = str(
                stmt.params(params).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            )
            plan = await session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"))
            print(f"\n-- {name}\n" + "\n".join(r[0] for r in plan), flush=True)


async def in_process_app(
    stack: AsyncExitStack, work_dir: Path
) -> tuple[Services, httpx.AsyncClient, str]:
    """A fresh migrated database, a Redis, the services and the ASGI app with its lifespan,
    and an HTTP client talking to it in this process; closed with ``stack``."""
    print("creating the benchmark database ...", flush=True)
    database_url = await stack.enter_async_context(bench_database())
    redis_url = await stack.enter_async_context(bench_redis(work_dir))
    settings = bench_settings(database_url, redis_url, work_dir / "var")
    services = Services.create(settings)
    stack.push_async_callback(services.close)
    app = create_app(settings, services)
    await stack.enter_async_context(app.router.lifespan_context(app))
    # As `doorstep serve` runs the app (its lifespan does this only for the services it
    # owns): the start-up heap frozen out of the cyclic collector, a young generation
    # of 2,000 allocations.
    stack.enter_context(settled_gc())
    http = await stack.enter_async_context(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench.test", timeout=120
        )
    )
    return services, http, database_url


async def measure(options: Options, work_dir: Path) -> Figures:
    figures = Figures()
    async with AsyncExitStack() as stack:
        services, http, database_url = await in_process_app(stack, work_dir)
        dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        conn = await asyncpg.connect(dsn)
        stack.push_async_callback(conn.close)
        if options.only in (None, "sync"):
            print(f"sync: {options.items} conversations, {options.runs} runs ...", flush=True)
            await bench_sync(services, http, conn, options, figures)
        if options.only in (None, "report"):
            await bench_report(services, http, conn, options, figures)
    return figures


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:9.1f} ms"


def print_figures(figures: Figures, options: Options) -> None:
    floor = figures.median("floor")
    lines = [f"\nsync: medians of {options.runs} runs"]
    for name, aim in (("sync", 0.5), ("replay", 0.15)):
        value = figures.median(name)
        ratio = f"{value / floor:6.1f} x the floor" if value and floor else ""
        lines.append(f"  {name:<28} {_ms(value)}  {ratio}  (aim < {aim * 1000:.0f} ms)")
    lines.append(f"  {'floor (asyncpg copy)':<28} {_ms(floor)}")
    lines.append(
        f"  {'of sync: its tallies':<28} {_ms(figures.median('tallies'))}  (read and upsert)"
    )
    whole, alone = figures.median("report"), figures.median("report statements")
    ratio = f"{whole / alone:6.1f} x the statements alone" if whole and alone else ""
    lines.append(f"report: {options.conversations:,} conversations, {THEMES} themes")
    lines.append(f"  {'CampaignReport':<28} {_ms(whole)}  {ratio}  (aim < 100 ms)")
    lines.append(f"  {'its statements alone':<28} {_ms(alone)}")
    lines += [f"  {note}" for note in figures.notes]
    print("\n".join(lines), flush=True)


def parse(argv: Sequence[str]) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench sync",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--items", type=int, default=defaults.items, help="per sync batch")
    parser.add_argument("--conversations", type=int, default=defaults.conversations,
                        help="in the report's campaign")  # fmt: skip
    parser.add_argument("--runs", type=int, default=defaults.runs)
    parser.add_argument("--explain", action="store_true", help="the report's query plans")
    parser.add_argument("--only", choices=["sync", "report"], help="run one part")
    args = parser.parse_args(argv)
    if min(args.items, args.conversations, args.runs) < 1:
        parser.error("counts must be at least 1")
    return Options(args.items, args.conversations, args.runs, args.explain, args.only)


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="doorstep-bench-sync-"))
    try:
        figures = asyncio.run(measure(options, work_dir))
    except BenchError as exc:
        print(f"sync benchmark failed: {exc}\n  logs kept in {work_dir}", file=sys.stderr)
        return 1
    print_figures(figures, options)
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0
