"""``python -m bench training``: a trainer's and a programme's progress, on PostgreSQL.

1. CohortProgress (tests/contract/trainer.graphql) with ``first: 100`` on a cohort of
   ``--trainees`` (200) trainees, ``--sessions`` (40) sessions (three quarters held, one
   in ten of those cancelled, each with every trainee's mark) and ``--competencies`` (20)
   competencies (each trainee signed off on some), the trainees logging listening
   conversations in a live campaign; through the ASGI app in this process (middleware,
   authentication, GraphQL, the domain code: everything but the socket), as the cohort's
   trainer. Beside it: the progress statement alone for the same 100 enrolments
   (``server/training/progress.py`` on a session, no HTTP or GraphQL).
2. ProgrammeProgress on a programme of ``--cohorts`` (50) cohorts of 20 trainees and 12
   sessions each, as an admin; beside it its statements alone (``programme_progress`` and
   ``cohort_stats`` of the 50 cohorts).
3. The anchor, in the same run: ``Me`` (organiser.graphql) through the same app, the
   cheapest signed-in operation. The ratios to it carry across machines and load far
   better than the milliseconds.

Medians of ``--runs`` (9) runs each, after a warm-up. Aim: each operation under 100 ms.
Environment: DOORSTEP_BENCH_DATABASE_URL and DOORSTEP_BENCH_REDIS_URL as for the
notifications benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import col

from bench import training_rows as rows
from bench.notifications import BenchError
from bench.sync import Api, Figures, in_process_app, timed
from server.accounts.models import Organisation, User
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.security.access import Actor
from server.security.tokens import AccessClaims
from server.training import access, progress, stats
from server.training.models import Cohort, Enrolment

PROGRAMME_COHORT = rows.Shape(trainees=20, sessions=12)


@dataclass
class Options:
    trainees: int = 200
    sessions: int = 40
    competencies: int = 20
    cohorts: int = 50
    runs: int = 9


@dataclass
class World:
    organisation_id: uuid.UUID
    admin_id: uuid.UUID
    trainer_id: uuid.UUID
    cohort_id: uuid.UUID
    programme_id: uuid.UUID


async def seed(services: Services, options: Options) -> World:
    rng = random.Random(11)
    now = utcnow()
    async with services.db.session() as session:
        org = Organisation(name="Benchmark training")
        session.add(org)
        await session.flush()
        admin = User(organisation_id=org.id, email="admin@training.bench.test",
                     display_name="Bench Admin", role=Role.ADMIN)  # fmt: skip
        trainer = User(organisation_id=org.id, email="trainer@training.bench.test",
                       display_name="Bench Trainer", role=Role.TRAINER)  # fmt: skip
        session.add_all([admin, trainer])
        await session.flush()
        big = await rows.programme(session, org.id, "Big cohort", options.competencies, now)
        shape = rows.Shape(options.trainees, options.sessions)
        cohort_id = await rows.cohort(session, big, trainer.id, "Big", shape, now, rng)
        wide = await rows.programme(session, org.id, "Many cohorts", 10, now)
        for c in range(options.cohorts):
            await rows.cohort(session, wide, trainer.id, f"C{c:02}", PROGRAMME_COHORT, now, rng)
        await session.commit()
        for table in ("enrolments", "attendance_marks", "sign_offs", "conversations",
                      "training_sessions", "cohorts", "users"):  # fmt: skip
            await session.execute(sa.text(f"ANALYZE {table}"))
        await session.commit()
    return World(org.id, admin.id, trainer.id, cohort_id, wide.programme_id)


def _token(services: Services, world: World, user_id: uuid.UUID, role: Role) -> str:
    return services.access_tokens.issue(
        AccessClaims(user_id, world.organisation_id, role, uuid.uuid4())
    )[0]


async def measure_all(
    services: Services, http: httpx.AsyncClient, world: World, options: Options, figures: Figures
) -> None:
    trainer = Api(http, _token(services, world, world.trainer_id, Role.TRAINER))
    admin = Api(http, _token(services, world, world.admin_id, Role.ADMIN))
    cohort_vars = {"cohortId": str(world.cohort_id), "first": 100}
    async with services.db.session() as session:
        first_page = list(
            (
                await session.scalars(
                    sa.select(col(Enrolment.id))
                    .where(col(Enrolment.cohort_id) == world.cohort_id)
                    .order_by(col(Enrolment.created_at), col(Enrolment.id))
                    .limit(100)
                )
            ).all()
        )
        cohort_ids = list(
            (
                await session.scalars(
                    sa.select(col(Cohort.id)).where(col(Cohort.programme_id) == world.programme_id)
                )
            ).all()
        )
    visible = access.enrolments_visible(Actor(world.admin_id, world.organisation_id, Role.ADMIN))

    async def cohort_progress() -> None:
        found = (await trainer.op("CohortProgress", cohort_vars))["cohort"]
        edges = found["enrolments"]["edges"]
        if (
            len(edges) != min(100, options.trainees)
            or found["enrolments"]["totalCount"] != options.trainees
        ):
            raise BenchError(f"CohortProgress: {len(edges)} of {found['enrolments']['totalCount']}")
        if len(found["trainingSessions"]["edges"]) != options.sessions:
            raise BenchError("CohortProgress: wrong number of sessions")

    async def cohort_statements() -> None:
        async with services.db.session() as session:
            await progress.progress_of(session, first_page)

    async def programme_progress() -> None:
        found = await admin.op("ProgrammeProgress", {"programmeId": str(world.programme_id)})
        cohorts = found["programme"]["cohorts"]["edges"]
        if len(cohorts) != options.cohorts:
            raise BenchError(f"ProgrammeProgress: {len(cohorts)} cohorts")

    async def programme_statements() -> None:
        async with services.db.session() as session:
            await stats.programme_progress(session, [world.programme_id])
            await stats.cohort_stats(session, cohort_ids, visible)

    async def me() -> None:
        await trainer.op("Me", {})

    steps = {
        "me": me,
        "cohort": cohort_progress,
        "cohort statements": cohort_statements,
        "programme": programme_progress,
        "programme statements": programme_statements,
    }
    for step in steps.values():  # warm-up
        await step()
        await step()
    for _ in range(options.runs):  # interleaved, so load weighs on each alike
        for name, step in steps.items():
            figures.add(name, await timed(step))


async def measure(options: Options, work_dir: Path) -> Figures:
    figures = Figures()
    async with AsyncExitStack() as stack:
        services, http, _ = await in_process_app(stack, work_dir)
        print(f"seeding a cohort of {options.trainees} and {options.cohorts} cohorts ...",
              flush=True)  # fmt: skip
        world = await seed(services, options)
        print(f"measuring, {options.runs} runs ...", flush=True)
        await measure_all(services, http, world, options, figures)
    return figures


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:8.1f} ms"


def print_figures(figures: Figures, options: Options) -> None:
    anchor = figures.median("me")
    lines = [f"\ntraining: medians of {options.runs} runs"]
    for name, alone, label in (
        ("cohort", "cohort statements",
         f"CohortProgress ({options.trainees} trainees, first 100, {options.sessions} "
         f"sessions, {options.competencies} competencies)"),
        ("programme", "programme statements", f"ProgrammeProgress ({options.cohorts} cohorts)"),
    ):  # fmt: skip
        whole, part = figures.median(name), figures.median(alone)
        lines.append(f"  {label}")
        ratio = f"{whole / anchor:6.1f} x Me" if whole and anchor else ""
        lines.append(f"    {'whole operation':<26} {_ms(whole)}  {ratio}  (aim < 100 ms)")
        share = f"{part / whole:6.0%} of the whole" if whole and part else ""
        lines.append(f"    {'its statements alone':<26} {_ms(part)}  {share}")
    lines.append(f"  {'anchor: Me, same app':<30} {_ms(anchor)}")
    print("\n".join(lines), flush=True)


def parse(argv: Sequence[str]) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name in ("trainees", "sessions", "competencies", "cohorts", "runs"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    args = parser.parse_args(argv)
    if min(args.trainees, args.sessions, args.competencies, args.cohorts, args.runs) < 1:
        parser.error("counts must be at least 1")
    return Options(args.trainees, args.sessions, args.competencies, args.cohorts, args.runs)


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="doorstep-bench-training-"))
    try:
        figures = asyncio.run(measure(options, work_dir))
    except BenchError as exc:
        print(f"training benchmark failed: {exc}\n  logs kept in {work_dir}", file=sys.stderr)
        return 1
    print_figures(figures, options)
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0
