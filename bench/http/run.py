"""The run: database, Redis, servers, seed, then the workloads in interleaved rounds."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from graphql import parse, validate
from redis.asyncio import Redis

from bench.http import costs
from bench.http.seed import Seeded, seed
from bench.http.serve import Server
from bench.http.workloads import ANCHORS, BY_NAME, DOORSTEP, WORKLOADS, Workload
from bench.http.wrk import CONNECTIONS, LOAD_CORE, WrkRun, run_wrk, write_script, wrk_binary
from bench.notifications import BenchError, bench_database
from schema import schema
from server.core.enums import ChannelName
from server.core.preflight import require_ready
from server.core.services import Services
from server.core.settings import Environment, Settings
from server.security.tokens import AccessClaims, AccessTokens
from tests.contract_ops import op

REDIS_URL = "redis://127.0.0.1:6379/0"
PUBLIC_URL = "https://doorstep.bench.example"
COST_REQUESTS = 50


@dataclass
class Options:
    duration: float = 10.0
    rounds: int = 3
    warmup: float = 3.0
    only: list[str] = field(default_factory=lambda: [w.name for w in WORKLOADS])
    rate: float = 200.0
    fixed_rate_seconds: float = 10.0
    label: str = "latest"
    baseline: Path | None = None
    profile: str | None = None
    profile_raw: bool = False


@dataclass
class Measured:
    runs: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)
    transactions: dict[str, float] = field(default_factory=dict)
    fixed_rate: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    profile: str | None = None


def production_settings(database_url: str, redis_url: str, var_dir: Path) -> Settings:
    """What `doorstep serve` needs to start in production (server/core/preflight.py)."""
    settings = Settings(
        _env_file=None,
        env=Environment.PRODUCTION,
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"doorstep-bench-http-{uuid.uuid4().hex[:10]}:",
        secret_key=secrets.token_urlsafe(48),
        public_url=PUBLIC_URL,
        channels=[ChannelName.EXPO],
        var_dir=var_dir,
    )
    require_ready(settings)
    return settings


def server_env(settings: Settings) -> dict[str, str]:
    return {
        "DOORSTEP_ENV": settings.env.value,
        "DOORSTEP_DATABASE_URL": settings.database_url,
        "DOORSTEP_REDIS_URL": settings.effective_redis_url,
        "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
        "DOORSTEP_SECRET_KEY": settings.secret_key,
        "DOORSTEP_PUBLIC_URL": settings.public_url,
        "DOORSTEP_CHANNELS": json.dumps([c.value for c in settings.channels]),
        "DOORSTEP_VAR_DIR": str(settings.var_dir),
    }


@asynccontextmanager
async def redis_keys_cleaned(url: str, prefix: str) -> AsyncIterator[None]:
    """The keys Doorstep writes carry the prefix (saq's have it inside): deleted at the end."""
    try:
        yield
    finally:
        redis = Redis.from_url(url)
        try:
            keys = [k async for k in redis.scan_iter(match=f"*{prefix}*", count=1000)]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()


async def login(base_url: str, email: str, password: str) -> str:
    """An access token through the API's Login mutation, as a client gets one."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.post(
            "/graphql",
            json={"query": op("Login"), "variables": {"email": email, "password": password}},
        )
    body = response.json()
    session = ((body.get("data") or {}).get("login") or {}).get("session")
    if response.status_code != 200 or not session:
        raise BenchError(f"could not log in: {response.text[:500]}")
    token: str = session["accessToken"]
    return token


class Tokens:
    """Fresh access tokens for the logged-in session, so no run outlives one (15 min)."""

    def __init__(self, settings: Settings, login_token: str) -> None:
        self._tokens = AccessTokens(settings)
        self._claims: AccessClaims = self._tokens.decode(login_token).claims

    def fresh(self) -> str:
        return self._tokens.issue(self._claims)[0]


def headers_for(workload: Workload, tokens: Tokens) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if workload.authenticated:
        headers["Authorization"] = f"Bearer {tokens.fresh()}"
    return headers


async def sample(server: Server, workload: Workload, headers: dict[str, str]) -> None:
    """Three requests through httpx, checked in full (wrk's Lua checks every one, too)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        for _ in range(3):
            if workload.payload is None:
                response = await client.get(workload.path, headers=headers)
            else:
                response = await client.post(
                    workload.path, content=workload.payload, headers=headers
                )
            problem = workload.problem(response.status_code, response.text)
            if problem:
                raise BenchError(f"{workload.name}: {problem}")


async def one_run(
    server: Server, workload: Workload, tokens: Tokens, seconds: float, work_dir: Path
) -> WrkRun:
    """Checked samples, wrk for ``seconds``, checked samples again."""
    headers = headers_for(workload, tokens)
    await sample(server, workload, headers)
    token = headers.get("Authorization", "").removeprefix("Bearer ") or None
    script = write_script(work_dir / f"{workload.name}.lua", workload, token)
    result = await run_wrk(
        f"{server.base_url}{workload.path}", script, seconds, work_dir / "wrk.log"
    )
    server.check_alive()
    await sample(server, workload, headers)
    return result


async def fixed_rate(
    server: Server, workload: Workload, tokens: Tokens, options: Options, work_dir: Path
) -> dict[str, Any]:
    """The open-loop generator (openloop.py) on the load generator's core."""
    spec = work_dir / "fixed-rate.json"
    spec.write_text(
        json.dumps(
            {
                "url": server.base_url,
                "workload": workload.name,
                "token": tokens.fresh(),
                "rate": options.rate,
                "seconds": options.fixed_rate_seconds,
                "connections": CONNECTIONS,
            }
        )
    )
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", LOAD_CORE, sys.executable, "-m", "bench.http.openloop", str(spec),
        env=server.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(
            process.communicate(), 2 * options.fixed_rate_seconds + 60
        )
    except TimeoutError as exc:
        process.kill()
        await process.wait()
        raise BenchError("the fixed-rate generator did not finish") from exc
    if process.returncode != 0:
        raise BenchError(f"the fixed-rate generator failed: {err.decode()[-800:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["workload"] = workload.name
    return result


async def profile(server: Server, workload: Workload, tokens: Tokens, options: Options,
                  work_dir: Path, out: Path) -> str:  # fmt: skip
    """py-spy record on the server during one extra run (not counted), on the load core."""
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise BenchError("--profile needs py-spy (pip install -c constraints.txt -e '.[dev]')")
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", LOAD_CORE, py_spy, "record", "--pid", str(server.pid),
        "--duration", f"{int(options.duration)}", "--rate", "200", "--nonblocking",
        "--format", "raw" if out.suffix == ".txt" else "flamegraph", "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await one_run(server, workload, tokens, options.duration, work_dir)
    _, err = await asyncio.wait_for(process.communicate(), 120)
    if process.returncode != 0:
        raise BenchError(f"py-spy failed: {err.decode()[-800:]}")
    return str(out)


def _record(measured: Measured, workload: Workload, result: WrkRun, rss: float) -> None:
    measured.runs.setdefault(workload.name, []).append(
        {
            "rps": result.rps,
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
            "requests": result.requests,
            "seconds": result.seconds,
            "rss_mib": rss,
            "failures": result.failures,
            "non_2xx": result.non_2xx,
        }
    )
    if not result.requests:
        measured.failures.append(f"{workload.name}: no response within the run")
    elif result.failures or result.checked < result.requests:
        measured.failures.append(
            f"{workload.name}: of {result.requests} responses {result.bad_status} not 200, "
            f"{result.with_errors} with errors, {result.wrong_count} with the wrong number of "
            f"items; {result.socket_errors} socket errors; {result.checked} checked"
        )


def available(chosen: list[Workload], seeded: Seeded) -> list[Workload]:
    """The workloads whose operation the schema has (campaign operations land in parts),
    the seeded ids in their variables; a missing one is said and skipped."""
    out = []
    for w in chosen:
        if w.server == DOORSTEP and w.body is not None:
            errors = validate(schema._schema, parse(w.body["query"]))
            if errors:
                print(f"  {w.name}: not available in this schema, skipped ({errors[0].message})")
                continue
            for name, value in (("campaignId", seeded.campaign_id),
                                ("cohortId", seeded.cohort_id)):  # fmt: skip
                if f"${name}" in w.body["query"]:
                    variables = {**w.body["variables"], name: str(value)}
                    w = dataclasses.replace(w, body={**w.body, "variables": variables})
        out.append(w)
    return out


async def measure(options: Options, work_dir: Path, profile_out: Path) -> Measured:
    wrk_binary()
    measured = Measured()
    chosen = [w for w in WORKLOADS if w.name in options.only or w.name in ANCHORS]
    async with AsyncExitStack() as stack:
        print("creating and migrating the benchmark database ...", flush=True)
        database_url = await stack.enter_async_context(bench_database())
        redis_url = REDIS_URL
        settings = production_settings(database_url, redis_url, work_dir / "var")
        await stack.enter_async_context(redis_keys_cleaned(redis_url, settings.redis_prefix))
        services = Services.create(settings)
        stack.push_async_callback(services.close)
        print("seeding ...", flush=True)
        seeded = await seed(services)
        chosen = available(chosen, seeded)
        servers = {name: Server(name, work_dir, server_env(settings)) for name in
                   {w.server for w in chosen}}  # fmt: skip
        for server in servers.values():
            stack.push_async_callback(server.stop)
            await server.start()
        tokens = Tokens(settings, await login(servers[DOORSTEP].base_url, seeded.email,
                                              seeded.password))  # fmt: skip
        ours = [w for w in chosen if w.server == DOORSTEP]

        print("SQL statements and transactions per request ...", flush=True)
        counter = costs.TransactionCounter(database_url)
        stack.push_async_callback(counter.close)
        client, statements = await stack.enter_async_context(costs.in_process_client(settings))
        chosen_headers = [(w, headers_for(w, tokens)) for w in ours]
        for w, headers in chosen_headers:
            measured.statements[w.name] = await costs.statements_per_request(
                client, statements, w, headers
            )
        async with httpx.AsyncClient(base_url=servers[DOORSTEP].base_url, timeout=60) as real:
            measured.transactions = await costs.transactions_per_request(
                counter, real, chosen_headers, COST_REQUESTS
            )

        print(f"warming up ({options.warmup:g} s each) ...", flush=True)
        for w in chosen:
            await one_run(servers[w.server], w, tokens, options.warmup, work_dir)
        for n in range(1, options.rounds + 1):
            print(f"round {n}/{options.rounds}:", flush=True)
            for w in chosen:
                server = servers[w.server]
                result = await one_run(server, w, tokens, options.duration, work_dir)
                _record(measured, w, result, server.rss_mib())
                print(
                    f"  {w.name:<16} {result.rps:9.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
                    f"p99 {result.p99_ms:7.2f} ms  wrong {result.failures}",
                    flush=True,
                )
        if "Me" in options.only:
            print(f"fixed rate: Me at {options.rate:g} req/s ...", flush=True)
            measured.fixed_rate = await fixed_rate(
                servers[DOORSTEP], BY_NAME["Me"], tokens, options, work_dir
            )
            if measured.fixed_rate["failures"]:
                measured.failures.append(
                    f"fixed rate: {measured.fixed_rate['failures']} failed; first: "
                    f"{measured.fixed_rate['first_failure']}"
                )
        if options.profile:
            # The workload as `available` filled in its seeded ids.
            w = next(c for c in chosen if c.name == options.profile)
            print(f"profiling {w.name} with py-spy ...", flush=True)
            measured.profile = await profile(
                servers[w.server], w, tokens, options, work_dir, profile_out
            )
    return measured
