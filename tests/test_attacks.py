"""The attacks of the security review, replayed from outside against a production server.

The server is started the way a deployment starts it: ``doorstep migrate`` and
``doorstep serve`` in their own processes with ``DOORSTEP_ENV=production``, on PostgreSQL
and Redis, reached over a real socket. Nothing here imports the server's code: what these
tests see is what an attacker on the network sees.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, REDIS_URL
from tests.contract_ops import op

pytestmark = pytest.mark.slow

SECRET = "attack-test-secret-key-long-enough-for-hs256-signing"
PASSWORD = "a long and decent passphrase"
APP_ORIGIN = "https://app.doorstep.example.org"
DOORSTEP = str(Path(sys.executable).with_name("doorstep"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_dsn(database: str) -> str:
    base = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    return base.rsplit("/", 1)[0] + f"/{database}"


@dataclass
class ProductionServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def doorstep(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DOORSTEP, *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def _start(tmp: Path, **overrides: str) -> Iterator[ProductionServer]:
    database = f"doorstep_attack_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_database(database))
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")},
        "DOORSTEP_ENV": "production",
        "DOORSTEP_DATABASE_URL": _pg_dsn(database).replace(
            "postgresql://", "postgresql+asyncpg://"
        ),
        "DOORSTEP_REDIS_URL": REDIS_URL,
        "DOORSTEP_REDIS_PREFIX": f"doorstep-attack:{uuid.uuid4().hex}:",
        "DOORSTEP_SECRET_KEY": SECRET,
        "DOORSTEP_PUBLIC_URL": "https://doorstep.example.org",
        "DOORSTEP_DELIVERY": "log",
        "DOORSTEP_ALLOWED_ORIGINS": json.dumps([APP_ORIGIN]),
        "DOORSTEP_VAR_DIR": str(tmp / "var"),
        **overrides,
    }
    migrate = subprocess.run(
        [DOORSTEP, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert migrate.returncode == 0, migrate.stderr
    process = subprocess.Popen(
        [DOORSTEP, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp,
    )
    server = ProductionServer(f"http://127.0.0.1:{port}", env, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        asyncio.run(_drop_database(database))


def _wait_until_up(server: ProductionServer) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.process.poll() is None, "the production server exited at start-up"
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the production server did not come up")


async def _create_database(name: str) -> None:
    conn = await asyncpg.connect(_pg_dsn("postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(name: str) -> None:
    conn = await asyncpg.connect(_pg_dsn("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionServer]:
    yield from _start(tmp_path_factory.mktemp("attack"))


def _create_admin(server: ProductionServer, organisation: str) -> str:
    email = f"admin-{uuid.uuid4().hex[:8]}@attack.test"
    made = server.doorstep(
        "create-admin",
        "--organisation",
        organisation,
        "--email",
        email,
        DOORSTEP_ADMIN_PASSWORD=PASSWORD,
    )
    assert made.returncode == 0, made.stderr
    return email


def _post(server: ProductionServer, body: Any, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.url}/graphql", json=body, headers=headers, timeout=30)


def _op(server: ProductionServer, name: str, token: str | None = None, **variables: Any) -> Any:
    response = _post(server, {"query": op(name), "variables": variables}, token)
    assert response.status_code == 200, response.text
    return response.json()


def _login(server: ProductionServer, email: str, password: str = PASSWORD) -> dict[str, Any]:
    body = _op(server, "Login", email=email, password=password)
    assert body["data"]["login"]["userErrors"] == [], body
    session: dict[str, Any] = body["data"]["login"]["session"]
    return session


def _error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def _fragment_bomb(levels: int, spreads: int = 2) -> str:
    """``levels`` fragments, each spreading the next ``spreads`` times: 2^levels expansions."""
    parts = ["query Bomb { ...F0 }"]
    for i in range(levels):
        inner = " ".join([f"...F{i + 1}"] * spreads)
        parts.append(f"fragment F{i} on Query {{ {inner} __typename }}")
    parts.append(f"fragment F{levels} on Query {{ __typename }}")
    return "\n".join(parts)


# --- No cheap denial of service -------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(_fragment_bomb(20), id="bomb-20-levels"),
        pytest.param(_fragment_bomb(200), id="bomb-10x-levels"),
        pytest.param(_fragment_bomb(20, spreads=200), id="bomb-100x-spreads"),
        pytest.param("query { " + " ".join(["me { id }"] * 550) + " }", id="550-repeated-fields"),
    ],
)
async def test_hostile_documents_are_refused_at_once_and_health_checks_answer(
    server: ProductionServer, document: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

        async def timed(coro: Any) -> tuple[httpx.Response, float]:
            started = time.perf_counter()
            response = await coro
            return response, time.perf_counter() - started

        attack = asyncio.create_task(timed(client.post("/graphql", json={"query": document})))
        await asyncio.sleep(0.01)
        health, health_seconds = await timed(client.get("/healthz"))
        refused, attack_seconds = await attack

    assert health.status_code == 200
    body = refused.json()
    assert body.get("errors"), body
    assert not body.get("data")
    # Unfixed, the 20-level bomb held the event loop for over 5 s, and /healthz with it.
    assert attack_seconds < 1.0, f"refusing took {attack_seconds:.2f} s"
    assert health_seconds < 1.0, f"/healthz waited {health_seconds:.2f} s"


def test_a_list_argument_over_its_cap_is_refused(server: ProductionServer) -> None:
    email = _create_admin(server, "Caps")
    token = _login(server, email)["accessToken"]
    ids = [str(uuid.uuid4()) for _ in range(5000)]
    body = _op(server, "MarkNotificationsRead", token, ids=ids)
    refused = body.get("errors") or (body.get("data") or {})["markNotificationsRead"]["userErrors"]
    # One refusal that names the cap, not 5,000 lookups answered one by one.
    assert len(refused) == 1, refused
    assert "100" in refused[0]["message"], refused


# --- Bad requests get a 400 -----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'"hello"', b"null", b"42", b"true", b"[]", b'{"query": "\xff\xfe"}', b"\xff\xfe\xfd"],
    ids=["string", "null", "number", "boolean", "array", "bad-utf8-inside", "bad-utf8"],
)
def test_a_malformed_body_is_a_400_with_a_json_error(server: ProductionServer, raw: bytes) -> None:
    response = httpx.post(
        f"{server.url}/graphql",
        content=raw,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"]


# --- Production shows nothing of its insides -------------------------------------------


def test_production_offers_no_introspection_ide_or_suggestions(server: ProductionServer) -> None:
    introspection = _post(server, {"query": "{ __schema { types { name } } }"}).json()
    assert introspection.get("errors") and not introspection.get("data")
    ide = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert "graphiql" not in ide.text.lower()
    typo = _post(server, {"query": "{ mee { id } }"}).json()
    assert "Did you mean" not in json.dumps(typo)


def test_cors_answers_listed_origins_only(server: ProductionServer) -> None:
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            f"{server.url}/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
            timeout=10,
        )

    allowed = preflight(APP_ORIGIN)
    assert allowed.headers.get("access-control-allow-origin") == APP_ORIGIN
    assert "authorization" in allowed.headers.get("access-control-allow-headers", "").lower()
    refused = preflight("https://evil.example.com")
    assert refused.headers.get("access-control-allow-origin") is None
    simple = httpx.post(
        f"{server.url}/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": "https://evil.example.com"},
        timeout=10,
    )
    assert simple.headers.get("access-control-allow-origin") is None


# --- Revocation that works -------------------------------------------------------------


def _me_code(server: ProductionServer, token: str) -> str | None:
    body = _op(server, "Me", token)
    codes = _error_codes(body)
    return codes[0] if codes else None


def test_an_access_token_stops_working_after_logout(server: ProductionServer) -> None:
    email = _create_admin(server, "Logout")
    session = _login(server, email)
    assert _me_code(server, session["accessToken"]) is None
    out = _op(server, "Logout", refreshToken=session["refreshToken"])
    assert out["data"]["logout"]["ok"] is True
    deadline = time.monotonic() + 5
    while _me_code(server, session["accessToken"]) != "UNAUTHENTICATED":
        assert time.monotonic() < deadline, "the access token still worked 5 s after logout"
        time.sleep(0.2)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _resign(token: str, **changes: Any) -> str:
    """The same token with some claims changed, signed with the deployment's own key."""
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_a_correctly_signed_token_with_an_overlong_lifetime_is_refused(
    server: ProductionServer,
) -> None:
    email = _create_admin(server, "Lifetime")
    token = _login(server, email)["accessToken"]
    now = int(time.time())
    # The re-signing itself is sound: the same claims, re-signed, still work.
    assert _me_code(server, _resign(token)) is None
    assert _me_code(server, _resign(token, iat=now, exp=now + 86400 * 30)) == "UNAUTHENTICATED"


# --- Rate limits that hold -------------------------------------------------------------


async def test_concurrent_wrong_passwords_are_limited_to_the_account_limit(
    server: ProductionServer,
) -> None:
    email = _create_admin(server, "Guessing")
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    "/graphql",
                    json={"query": op("Login"), "variables": {"email": email, "password": "no"}},
                )
                for _ in range(40)
            )
        )
    codes = [a.json()["data"]["login"]["userErrors"][0]["code"] for a in answers]
    # Limit 5 per account: at most 5 guesses are even tried.
    assert codes.count("INVALID") <= 5, codes
    assert codes.count("RATE_LIMITED") >= 35, codes


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionServer]:
    yield from _start(tmp_path_factory.mktemp("strict"), DOORSTEP_LOGIN_ATTEMPTS_PER_ADDRESS="10")


def test_a_direct_client_cannot_choose_its_address(strict_server: ProductionServer) -> None:
    codes = []
    for i in range(15):
        response = httpx.post(
            f"{strict_server.url}/graphql",
            json={
                "query": op("Login"),
                "variables": {"email": f"nobody{i}@attack.test", "password": "guess"},
            },
            headers={"X-Forwarded-For": f"198.51.100.{i + 1}", "X-Real-IP": f"198.51.100.{i}"},
            timeout=30,
        )
        codes.append(response.json()["data"]["login"]["userErrors"][0]["code"])
    # Every guess came from this one client, whatever its headers claimed.
    assert codes[:10] == ["INVALID"] * 10, codes
    assert codes[10:] == ["RATE_LIMITED"] * 5, codes
