"""Revocation benchmark: what the revocation check adds to each authenticated request.

Measures, per call, in one process against a private Redis and a fresh PostgreSQL database:

- decode: verifying the access token (PyJWT, HS256), the anchor every other figure is a
  multiple of;
- decode + check, cache hit: what nearly every request pays (the answer is cached for 2 s);
- decode + check, cache miss: one MGET to Redis;
- decode + check, Redis down: the database answers (one indexed query);
- a whole `{ me { id } }` request through the ASGI app (cache hits), to put the check in
  proportion.

Environment: DOORSTEP_BENCH_DATABASE_URL and DOORSTEP_BENCH_REDIS_URL as for the
notifications benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.notifications import BenchError, bench_database, bench_redis, bench_settings
from server.accounts.models import Organisation, User
from server.core.enums import Role
from server.core.services import Services
from server.security.revocation import Revocations
from server.security.tokens import AccessClaims
from server.web.app import create_app
from tests.redis_server import free_port


@dataclass
class Options:
    calls: int = 20_000
    io_calls: int = 2_000
    requests: int = 1_000
    rounds: int = 5


@dataclass
class Figures:
    micros: dict[str, float] = field(default_factory=dict)


Step = Callable[[], Awaitable[object]]


async def _per_call(calls: int, step: Step) -> float:
    """Microseconds per call of ``step``."""
    start = time.perf_counter()
    for _ in range(calls):
        await step()
    return (time.perf_counter() - start) / calls * 1e6


async def _compare(rounds: int, steps: dict[str, tuple[int, Step]]) -> dict[str, float]:
    """Each step's best per-call time over ``rounds`` rounds, the steps taking turns in
    every round: on a shared machine, load then weighs on all of them alike, and the best
    round is the one least disturbed."""
    for calls, step in steps.values():
        await _per_call(max(1, calls // 10), step)  # warm-up
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, (calls, step) in steps.items():
            best[name] = min(best[name], await _per_call(max(1, calls // rounds), step))
    return best


async def _seed(services: Services) -> User:
    async with services.db.session() as session:
        org = Organisation(name="Benchmark")
        session.add(org)
        await session.flush()
        user = User(
            organisation_id=org.id,
            email="admin@bench.test",
            display_name="Bench Admin",
            role=Role.ADMIN,
        )
        session.add(user)
        await session.commit()
    return user


async def measure(options: Options, work_dir: Path) -> Figures:
    figures = Figures()
    async with AsyncExitStack() as stack:
        print("creating the benchmark database ...", flush=True)
        database_url = await stack.enter_async_context(bench_database())
        redis_url = await stack.enter_async_context(bench_redis(work_dir))
        settings = bench_settings(database_url, redis_url, work_dir / "var")
        services = Services.create(settings)
        stack.push_async_callback(services.close)
        user = await _seed(services)
        tokens = services.access_tokens
        raw, _ = tokens.issue(AccessClaims(user.id, user.organisation_id, user.role, uuid.uuid4()))
        lifetime = tokens.lifetime

        async def decode() -> object:
            return tokens.decode(raw)

        def checking(revocations: Revocations) -> Callable[[], Awaitable[object]]:
            async def step() -> object:
                return await revocations.is_revoked(tokens.decode(raw))

            return step

        prefix = settings.redis_prefix
        hit = Revocations(services.redis, services.db, prefix, lifetime)
        miss = Revocations(services.redis, services.db, prefix, lifetime, cache_seconds=0)
        await miss.is_revoked(tokens.decode(raw))  # fills the marker: Redis answers from now on
        # A Redis that refuses connections (nothing listens there): the database answers.
        down_redis = Services.create(
            settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
        )
        stack.push_async_callback(down_redis.close)
        down = Revocations(down_redis.redis, services.db, prefix, lifetime, cache_seconds=0)

        print("measuring ...", flush=True)
        figures.micros.update(
            await _compare(
                options.rounds,
                {
                    "decode": (options.calls, decode),
                    "decode + check, cache hit": (options.calls, checking(hit)),
                    "decode + check, cache miss (Redis MGET)": (options.io_calls, checking(miss)),
                    "decode + check, Redis down (database)": (options.io_calls, checking(down)),
                },
            )
        )

        app = create_app(settings, services)
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench.test", timeout=30
            )
        )
        headers = {"Authorization": f"Bearer {raw}"}

        async def request() -> object:
            response = await http.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
            if response.status_code != 200 or "errors" in response.json():
                raise BenchError(f"the request failed: {response.text[:300]}")
            return response

        figures.micros.update(
            await _compare(
                options.rounds,
                {"whole { me { id } } request (cache hit)": (options.requests, request)},
            )
        )
    return figures


def report(figures: Figures) -> None:
    anchor = figures.micros["decode"]
    hit = figures.micros["decode + check, cache hit"]
    whole = figures.micros["whole { me { id } } request (cache hit)"]
    lines = ["", "revocation check per call (microseconds, and x the decode-only anchor)"]
    lines += [
        f"  {name:<42} {us:9.1f} us  {us / anchor:7.2f} x" for name, us in figures.micros.items()
    ]
    miss = figures.micros["decode + check, cache miss (Redis MGET)"]
    lines.append(
        f"  the check adds {hit - anchor:.1f} us to a request on a cache hit "
        f"({(hit - anchor) / whole:.2%} of a whole {{ me {{ id }} }} request), "
        f"{miss - anchor:.0f} us on a miss"
    )
    print("\n".join(lines), flush=True)


def parse(argv: Sequence[str]) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench revocation", description=__doc__)
    parser.add_argument("--calls", type=int, default=defaults.calls, help="in-process calls")
    parser.add_argument(
        "--io-calls", type=int, default=defaults.io_calls, help="calls that go to Redis or the DB"
    )
    parser.add_argument("--requests", type=int, default=defaults.requests)
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    args = parser.parse_args(argv)
    if min(args.calls, args.io_calls, args.requests, args.rounds) < 1:
        parser.error("counts must be at least 1")
    return Options(
        calls=args.calls, io_calls=args.io_calls, requests=args.requests, rounds=args.rounds
    )


def main(argv: Sequence[str] = ()) -> int:
    options = parse(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="doorstep-bench-"))
    try:
        figures = asyncio.run(measure(options, work_dir))
    except BenchError as exc:
        print(f"revocation benchmark failed: {exc}\n  logs kept in {work_dir}", file=sys.stderr)
        return 1
    report(figures)
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0
