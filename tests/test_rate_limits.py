"""Rate limits that hold: under concurrency, against made-up addresses, with Redis down.

Every test runs on SQLite and PostgreSQL (the ``database_url`` fixture), with real Redis;
the outage test stops a private Redis of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.web.app import create_app
from tests.conftest import PASSWORD, GraphQLClient
from tests.contract_ops import op
from tests.helpers import eventually, start_api, stop_api
from tests.redis_server import RedisServer
from tests.test_passwords import reset_emails
from tests.test_sessions import WRONG, codes, login, small_limits

ClientAt = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_at(app: Any) -> ClientAt:
    """``async with client_at("192.0.2.1") as http:`` a client of the app from that peer."""

    @asynccontextmanager
    async def client(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://doorstep.test") as http:
            yield http

    return client


async def login_via(
    http: httpx.AsyncClient, email: str, password: str, forwarded_for: str | None = None
) -> list[str]:
    """The error codes of a Login, sent with an X-Forwarded-For header when given one."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = await http.post(
        "/graphql",
        json={"query": op("Login"), "variables": {"email": email, "password": password}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return codes(response.json()["data"]["login"])


def outcomes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(code for result in results for code in codes(result) or ["OK"])


# Concurrency -------------------------------------------------------------------------


@small_limits(per_account=5, per_address=100)
async def test_concurrent_wrong_passwords_stop_at_the_account_limit(
    gql: GraphQLClient, make_org: Any
) -> None:
    await make_org("Alpha")

    results = await asyncio.gather(*(login(gql, "admin@alpha.test", WRONG) for _ in range(40)))

    assert outcomes(results) == Counter({"INVALID": 5, "RATE_LIMITED": 35})
    assert codes(await login(gql, "admin@alpha.test")) == ["RATE_LIMITED"]


@small_limits(per_account=100, per_address=5)
async def test_concurrent_guesses_across_accounts_stop_at_the_address_limit(
    gql: GraphQLClient, make_org: Any
) -> None:
    await make_org("Alpha")

    results = await asyncio.gather(*(login(gql, f"guess{n}@alpha.test", WRONG) for n in range(40)))

    assert outcomes(results) == Counter({"INVALID": 5, "RATE_LIMITED": 35})
    assert codes(await login(gql, "admin@alpha.test")) == ["RATE_LIMITED"]


@small_limits(per_account=100, per_address=2)
async def test_successful_logins_do_not_use_up_the_address_limit(
    gql: GraphQLClient, make_org: Any
) -> None:
    """An office behind one address: its members signing in leave room for the typo."""
    await make_org("Alpha")
    for _ in range(3):
        for role in Role:
            assert codes(await login(gql, f"{role.value.lower()}@alpha.test")) == []
    assert codes(await login(gql, "admin@alpha.test", WRONG)) == ["INVALID"]
    assert codes(await login(gql, "admin@alpha.test", WRONG)) == ["INVALID"]
    assert codes(await login(gql, "trainer@alpha.test")) == ["RATE_LIMITED"]


# Client address ----------------------------------------------------------------------


@small_limits(per_account=100, per_address=3)
async def test_a_direct_client_cannot_choose_its_address(client_at: ClientAt) -> None:
    """Development trusts loopback proxies only; this peer is not one of them."""
    async with client_at("203.0.113.7") as http:
        for n in range(3):
            forwarded = f"198.51.100.{n}"
            assert await login_via(http, f"guess{n}@x.test", WRONG, forwarded) == ["INVALID"]
        for forwarded in ("198.51.100.99", "127.0.0.1", "10.0.0.1, 198.51.100.98", None):
            assert await login_via(http, "guess@x.test", WRONG, forwarded) == ["RATE_LIMITED"]
    async with client_at("203.0.113.8") as http:  # a real other address is its own
        assert await login_via(http, "guess@x.test", WRONG) == ["INVALID"]


@pytest.mark.parametrize(
    "settings_update",
    [
        {
            "login_attempts_per_account": 100,
            "login_attempts_per_address": 3,
            "trusted_proxies": [ip_network("10.0.0.0/8")],
        }
    ],
    ids=["proxies-10/8"],
)
async def test_a_trusted_proxy_says_who_the_client_is(client_at: ClientAt) -> None:
    async with client_at("10.1.2.3") as proxy:
        for n in range(3):
            assert await login_via(proxy, f"g{n}@x.test", WRONG, "198.51.100.7") == ["INVALID"]
        # The same client through a second proxy of ours, or with an address it made up
        # in front (the rightmost entry that is not a trusted proxy is the client).
        for forwarded in ("198.51.100.7", "198.51.100.7, 10.9.9.9", "192.0.2.66, 198.51.100.7"):
            assert await login_via(proxy, "g@x.test", WRONG, forwarded) == ["RATE_LIMITED"]
        # Other clients behind the same proxy are not affected.
        assert await login_via(proxy, "g@x.test", WRONG, "198.51.100.8") == ["INVALID"]


def test_production_trusts_no_proxy_unless_told(settings: Settings) -> None:
    production = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="production",
        secret_key=settings.secret_key,
        database_url="postgresql+asyncpg://doorstep@db.internal/doorstep",
        public_url="https://doorstep.example.org",
        delivery="log",
    )
    assert production.proxies == []
    assert settings.proxies == [ip_network("127.0.0.0/8"), ip_network("::1")]
    told = production.model_copy(update={"trusted_proxies": [ip_network("10.0.0.0/8")]})
    assert told.proxies == [ip_network("10.0.0.0/8")]


@pytest.mark.slow
async def test_served_api_believes_forwarded_addresses_only_from_trusted_proxies(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    """``doorstep serve`` as production runs it: one server trusts no proxy, the other the
    development default (loopback); this test connects from loopback to both."""
    limits = {
        "DOORSTEP_LOGIN_ATTEMPTS_PER_ACCOUNT": "100",
        "DOORSTEP_LOGIN_ATTEMPTS_PER_ADDRESS": "3",
    }
    (direct, direct_url), (proxied, proxied_url) = await asyncio.gather(
        start_api(
            settings,
            tmp_path,
            DOORSTEP_TRUSTED_PROXIES="[]",
            DOORSTEP_REDIS_PREFIX=f"{settings.redis_prefix}direct:",
            **limits,
        ),
        start_api(
            settings, tmp_path, DOORSTEP_REDIS_PREFIX=f"{settings.redis_prefix}proxied:", **limits
        ),
    )
    try:
        async with httpx.AsyncClient(base_url=direct_url) as http:
            for n in range(3):
                forwarded = f"198.51.100.{n}"
                assert await login_via(http, f"g{n}@x.test", WRONG, forwarded) == ["INVALID"]
            assert await login_via(http, "g@x.test", WRONG, "198.51.100.50") == ["RATE_LIMITED"]
        async with httpx.AsyncClient(base_url=proxied_url) as http:
            for n in range(3):
                assert await login_via(http, f"g{n}@x.test", WRONG, "198.51.100.7") == ["INVALID"]
            assert await login_via(http, "g@x.test", WRONG, "198.51.100.7") == ["RATE_LIMITED"]
            assert await login_via(http, "g@x.test", WRONG, "198.51.100.8") == ["INVALID"]
    finally:
        await asyncio.gather(stop_api(direct), stop_api(proxied))


# Redis outage ------------------------------------------------------------------------


@small_limits(per_account=3, per_address=100)
async def test_limits_hold_while_redis_is_down_and_the_outage_is_logged_once(
    settings: Settings, make_org: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await make_org("Alpha")
    caplog.set_level(logging.INFO, logger="server.security.ratelimit")

    def limiter_logs() -> list[str]:
        return [r.levelname for r in caplog.records if r.name == "server.security.ratelimit"]

    async with RedisServer() as redis:
        private = settings.model_copy(update={"redis_url": redis.url})
        services = Services.create(private)
        app = create_app(private, services)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://doorstep.test") as http,
            ):
                gql = GraphQLClient(http)
                assert codes(await login(gql, "trainer@alpha.test")) == []
                await redis.stop()

                logins = await asyncio.gather(
                    *(login(gql, "admin@alpha.test", WRONG) for _ in range(12))
                )
                assert outcomes(logins) == Counter({"INVALID": 3, "RATE_LIMITED": 9})
                assert codes(await login(gql, "admin@alpha.test")) == ["RATE_LIMITED"]
                assert codes(await login(gql, "trainer@alpha.test")) == []
                for _ in range(5):
                    answer = await gql.op("RequestPasswordReset", {"email": "organiser@alpha.test"})
                    assert answer == {"requestPasswordReset": {"ok": True}}
                assert (
                    len(await reset_emails(services)) == services.settings.password_resets_per_hour
                )
                assert limiter_logs() == ["WARNING"]

                await redis.start()

                async def back() -> bool:
                    await login(gql, "trainer@alpha.test", PASSWORD)
                    return "INFO" in limiter_logs()

                await eventually(back, seconds=10)
                assert limiter_logs() == ["WARNING", "INFO"]
                # Counted in Redis again (the restarted Redis came back empty).
                assert codes(await login(gql, "senior_organiser@alpha.test", WRONG)) == ["INVALID"]
                keys = [k async for k in services.redis.scan_iter(match="*senior_organiser*")]
                assert len(keys) == 1
        finally:
            await services.close()


# Password resets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings_update", [{"password_resets_per_address_per_hour": 3}], ids=["address3"]
)
async def test_reset_requests_are_limited_per_client_address(
    client_at: ClientAt, make_org: Any, services: Services
) -> None:
    await make_org("Alpha")
    emails = [f"{role.value.lower()}@alpha.test" for role in Role]
    async with client_at("203.0.113.7") as http:
        gql = GraphQLClient(http)
        for email in emails:  # four accounts, one request each: the fourth is dropped
            answer = await gql.op("RequestPasswordReset", {"email": email})
            assert answer == {"requestPasswordReset": {"ok": True}}
    assert [m.payload["to"] for m in await reset_emails(services)] == emails[:3]

    async with client_at("203.0.113.8") as http:
        await GraphQLClient(http).op("RequestPasswordReset", {"email": emails[3]})
    assert [m.payload["to"] for m in await reset_emails(services)] == emails
