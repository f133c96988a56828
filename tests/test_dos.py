"""Cheap denial of service: small documents that used to keep the event loop busy.

Each is sent to a real `doorstep serve` process over a socket, with a /healthz request
right behind it: before the limits were linear, the fragment bomb took over 5 s to refuse
and /healthz waited for it. The bounds here are generous (1 s); bench/limits.py measures.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.enums import Role
from server.settings import Settings
from tests.conftest import REDIS_URL, SECRET
from tests.helpers import running_api

pytestmark = pytest.mark.slow
PROTOCOL = "graphql-transport-ws"
BOUND = 1.0  # seconds; unfixed, the fragment bomb alone took over 5


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The server reads no table for these: one backend is enough."""
    return sqlite_url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """One server for the module; make_org's tokens are signed with the same secret."""
    var_dir = tmp_path_factory.mktemp("var")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=sqlite_url,
        redis_url=REDIS_URL,
        redis_prefix=f"doorstep-test:{uuid.uuid4().hex}:",
        secret_key=SECRET,
        var_dir=var_dir,
    )
    async with running_api(settings, str(var_dir)) as base:
        yield base


def fragment_bomb(levels: int = 20, spreads: int = 2, root: str = "query Bomb") -> str:
    """`fragment Fi on Query { ...Fi+1 ...Fi+1 __typename }`: 2^levels fields once expanded."""
    parts = [f"{root} {{ ...F0 }}"]
    for i in range(levels):
        inner = " ".join([f"...F{i + 1}"] * spreads)
        parts.append(f"fragment F{i} on Query {{ {inner} __typename }}")
    parts.append(f"fragment F{levels} on Query {{ __typename }}")
    return "\n".join(parts)


def repeated_fields(count: int = 550) -> str:
    return "query Repeated { " + "me { id } " * count + "}"


def grown(make: Callable[[int], str], start: int, scale: int) -> str:
    """``make(n)`` for the smallest n at least ``scale`` times the size of ``make(start)``."""
    target = scale * len(make(start))
    low, high = start, start
    while len(make(high)) < target:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if len(make(middle)) < target else (low, middle)
    return make(high)


# Each shape at the size, then 10 and 100 times larger: more levels, more spreads
# in each fragment, more repeated fields.
SHAPES: dict[str, Callable[[int], str]] = {
    "levels": lambda scale: grown(lambda n: fragment_bomb(levels=n), 20, scale),
    "spreads": lambda scale: grown(lambda n: fragment_bomb(spreads=n), 2, scale),
    "repeated fields": lambda scale: grown(repeated_fields, 550, scale),
}
REFUSALS = {
    "QUERY_TOO_COSTLY": "The document costs ",
    "TOO_MANY_REPEATED_FIELDS": "The document repeats fields too often: 'me' is selected",
    None: "Syntax Error: Document contains more than 3000 tokens. Parsing aborted.",
}

CASES = [
    pytest.param(shape, scale, id=f"{shape}-x{scale}") for shape in SHAPES for scale in (1, 10, 100)
]


def test_the_shapes_grow_as_stated() -> None:
    assert 700 < len(fragment_bomb()) < 1100  # the 1 KB document
    for shape in SHAPES.values():
        assert 10 <= len(shape(10)) / len(shape(1)) < 10.5
        assert 100 <= len(shape(100)) / len(shape(1)) < 105


def assert_refused(errors: list[dict[str, Any]]) -> None:
    """One clear error: what was over which limit."""
    assert len(errors) == 1, errors
    [error] = errors
    code = (error.get("extensions") or {}).get("code")
    assert code in REFUSALS, error
    assert error["message"].startswith(REFUSALS[code]), error


async def timed(work: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await work
    return result, time.perf_counter() - start


async def healthz_behind(base: str, client: httpx.AsyncClient, attack: Any) -> float:
    """Run ``attack``; 20 ms in, ask /healthz. Both must finish within BOUND."""
    task = asyncio.ensure_future(timed(attack))
    await asyncio.sleep(0.02)
    health, health_seconds = await timed(client.get(f"{base}/healthz"))
    assert health.status_code == 200
    _, attack_seconds = await task
    assert attack_seconds < BOUND, f"refused after {attack_seconds:.2f} s"
    assert health_seconds < BOUND, f"/healthz answered after {health_seconds:.2f} s"
    return float(attack_seconds)


@pytest.mark.parametrize(("shape", "scale"), CASES)
async def test_refused_at_once_over_http(api: str, shape: str, scale: int) -> None:
    document = SHAPES[shape](scale)
    async with httpx.AsyncClient(timeout=30) as client:
        responses: list[httpx.Response] = []

        async def attack() -> None:
            responses.append(await client.post(f"{api}/graphql", json={"query": document}))

        await healthz_behind(api, client, attack())
    [response] = responses
    body = response.json()
    assert body.get("data") is None
    assert_refused(body["errors"])


@pytest.mark.parametrize(("shape", "scale"), CASES)
async def test_refused_at_once_over_websockets(
    api: str, make_org: Any, shape: str, scale: int
) -> None:
    org = await make_org()
    document = SHAPES[shape](scale)
    async with (
        connect(api.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL]) as ws,  # type: ignore[list-item]
        httpx.AsyncClient(timeout=30) as client,
    ):
        init = {"type": "connection_init", "payload": {"authorization": org.token(Role.ORGANISER)}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        messages: list[dict[str, Any]] = []

        async def attack() -> None:
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}})
            )
            try:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=30)))
            except ConnectionClosed as closed:
                # Strawberry closes the socket on a syntax error, the error as the reason.
                assert closed.rcvd is not None and closed.rcvd.code == 4400
                messages.append(
                    {"type": "error", "id": "1", "payload": [{"message": closed.rcvd.reason}]}
                )

        await healthz_behind(api, client, attack())
    [message] = messages
    assert message["type"] == "error" and message["id"] == "1", message
    assert_refused(message["payload"])


async def test_subscription_fragment_bomb_is_refused_at_once(api: str, make_org: Any) -> None:
    org = await make_org()
    document = fragment_bomb(root="subscription Bomb").replace("on Query", "on Subscription")
    async with connect(api.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"authorization": org.token(Role.ORGANISER)}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        start = time.perf_counter()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}}))
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
        assert time.perf_counter() - start < BOUND
    assert message["type"] == "error", message
    assert_refused(message["payload"])
