"""Revoked sessions stop working everywhere within seconds, not when their tokens expire.

Logout, refresh-token reuse, a new password, deactivation and a role change each end
access tokens already issued. "Every API process" is shown with a second app instance
(its own Services, its own cache) sharing the database and Redis; the Redis outage
cases use a private redis-server that the test stops and starts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from schema import build_schema
from schema.context import Context
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.outbox.models import OutboxMessage
from server.web.app import create_app
from tests.conftest import PASSWORD, GraphQLClient, Org
from tests.contract_ops import op
from tests.redis_server import RedisServer

# The bound: a revoked token is refused on every process within 5 seconds.
WITHIN_SECONDS = 5.0


@asynccontextmanager
async def api_process(settings: Settings) -> AsyncIterator[tuple[GraphQLClient, Services]]:
    """Another API process, as far as revocation goes: its own Services, cache and app."""
    services = Services.create(settings)
    app = create_app(settings, services)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://doorstep.test", timeout=30
            ) as http:
                yield GraphQLClient(http), services
    finally:
        await services.close()


@pytest.fixture
async def second(settings: Settings, services: Services) -> AsyncIterator[GraphQLClient]:
    async with api_process(settings) as (gql, _):
        yield gql


async def login(gql: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    data = await gql.op("Login", {"email": email, "password": password})
    assert data["login"]["userErrors"] == [], data
    session: dict[str, Any] = data["login"]["session"]
    return session


async def me(gql: GraphQLClient, token: str) -> str:
    """The caller's id, or the error code the API answered with."""
    body = await gql.raw(op("Me"), token=token)
    if body.get("errors"):
        code: str = body["errors"][0]["extensions"]["code"]
        return code
    user_id: str = body["data"]["me"]["id"]
    return user_id


async def refused_within(gql: GraphQLClient, token: str, seconds: float = WITHIN_SECONDS) -> float:
    """Seconds until ``token`` is UNAUTHENTICATED on ``gql``; fails after ``seconds``."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if await me(gql, token) == "UNAUTHENTICATED":
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise AssertionError(f"the revoked token still worked after {seconds} s")


async def set_active(gql: GraphQLClient, org: Org, role: Role, active: bool) -> None:
    data = await gql.op(
        "SetMemberActive", {"id": str(org.members[role].id), "active": active}, token=org.token()
    )
    assert data["setMemberActive"]["userErrors"] == [], data


# --- logout, reuse, new password -----------------------------------------------------


async def test_logout_ends_the_access_token_on_every_api_process(
    gql: GraphQLClient, second: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    organiser = str(org.members[Role.ORGANISER].id)
    session = await login(gql, "organiser@alpha.test")
    other_device = await login(gql, "organiser@alpha.test")
    # Both processes have seen the token as good (and cached that).
    assert await me(gql, session["accessToken"]) == organiser
    assert await me(second, session["accessToken"]) == organiser

    data = await gql.op("Logout", {"refreshToken": session["refreshToken"]})
    assert data["logout"]["ok"] is True

    assert await me(gql, session["accessToken"]) == "UNAUTHENTICATED"  # at once, here
    await refused_within(second, session["accessToken"])
    # The same person's other sign-in is another family: untouched, on both.
    assert await me(gql, other_device["accessToken"]) == organiser
    assert await me(second, other_device["accessToken"]) == organiser


async def test_refresh_token_reuse_ends_the_familys_access_tokens(
    gql: GraphQLClient, second: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    organiser = str(org.members[Role.ORGANISER].id)
    first = await login(gql, "organiser@alpha.test")
    data = await gql.op("RefreshSession", {"refreshToken": first["refreshToken"]})
    rotated = data["refreshSession"]["session"]
    other_device = await login(gql, "organiser@alpha.test")
    assert await me(second, rotated["accessToken"]) == organiser

    data = await gql.op("RefreshSession", {"refreshToken": first["refreshToken"]})  # stolen
    assert [e["code"] for e in data["refreshSession"]["userErrors"]] == ["EXPIRED"]

    for token in (first["accessToken"], rotated["accessToken"]):
        assert await me(gql, token) == "UNAUTHENTICATED"
        await refused_within(second, token)
    assert await me(second, other_device["accessToken"]) == organiser


async def test_a_new_password_ends_the_other_access_tokens(
    gql: GraphQLClient, second: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    organiser = str(org.members[Role.ORGANISER].id)
    old = await login(gql, "organiser@alpha.test")
    assert await me(second, old["accessToken"]) == organiser
    await gql.op("RequestPasswordReset", {"email": "organiser@alpha.test"})
    async with services.db.session() as session:
        [payload] = (
            await session.scalars(
                sa.select(col(OutboxMessage.payload)).where(
                    col(OutboxMessage.topic) == "email.account"
                )
            )
        ).all()
    [token] = parse_qs(urlparse(payload["link"]).query)["token"]
    data = await gql.op("SetPassword", {"input": {"token": token, "password": PASSWORD + "!"}})
    new = data["setPassword"]["session"]

    await refused_within(second, old["accessToken"])
    assert await me(second, new["accessToken"]) == organiser
    assert await me(gql, new["accessToken"]) == organiser


# --- deactivation and role changes -----------------------------------------------------


async def test_deactivation_ends_every_session_on_every_process_and_reactivation_does_not_revive(
    gql: GraphQLClient, second: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    organiser = str(org.members[Role.ORGANISER].id)
    phone = await login(gql, "organiser@alpha.test")
    laptop = await login(second, "organiser@alpha.test")
    assert await me(second, phone["accessToken"]) == organiser

    await set_active(gql, org, Role.ORGANISER, False)
    for token in (phone["accessToken"], laptop["accessToken"], org.token(Role.ORGANISER)):
        assert await me(gql, token) == "UNAUTHENTICATED"
        await refused_within(second, token)
    data = await gql.op("RefreshSession", {"refreshToken": laptop["refreshToken"]})
    assert [e["code"] for e in data["refreshSession"]["userErrors"]] == ["EXPIRED"]

    await set_active(gql, org, Role.ORGANISER, True)
    # Back with the old password; what was revoked stays revoked.
    again = await login(second, "organiser@alpha.test")
    assert await me(gql, again["accessToken"]) == organiser
    assert await me(second, again["accessToken"]) == organiser
    assert await me(gql, phone["accessToken"]) == "UNAUTHENTICATED"
    data = await gql.op("RefreshSession", {"refreshToken": phone["refreshToken"]})
    assert [e["code"] for e in data["refreshSession"]["userErrors"]] == ["EXPIRED"]


async def test_a_role_change_ends_the_tokens_that_carry_the_old_role(
    gql: GraphQLClient, second: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    senior = org.members[Role.SENIOR_ORGANISER]
    session = await login(gql, senior.email)
    # As a senior organiser they may create areas.
    data = await gql.op("CreateArea", {"input": {"name": "Before"}}, token=session["accessToken"])
    assert data["createArea"]["userErrors"] == []

    data = await gql.op(
        "UpdateMember", {"id": str(senior.id), "input": {"role": "ORGANISER"}}, token=org.token()
    )
    assert data["updateMember"]["member"]["role"] == "ORGANISER"

    body = await second.raw(
        op("CreateArea"), {"input": {"name": "After"}}, token=session["accessToken"]
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    await refused_within(gql, session["accessToken"])
    data = await gql.op("RefreshSession", {"refreshToken": session["refreshToken"]})
    assert [e["code"] for e in data["refreshSession"]["userErrors"]] == ["EXPIRED"]
    # Signed in again, they act with the new role.
    fresh = await login(second, senior.email)
    body = await gql.raw(op("CreateArea"), {"input": {"name": "After"}}, token=fresh["accessToken"])
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_changing_only_a_name_or_areas_keeps_the_session(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    session = await login(gql, organiser.email)
    data = await gql.op(
        "UpdateMember",
        {
            "id": str(organiser.id),
            "input": {"displayName": "Renamed", "areaIds": [str(org.area.id)], "role": "ORGANISER"},
        },
        token=org.token(),
    )
    assert data["updateMember"]["userErrors"] == []
    assert await me(gql, session["accessToken"]) == str(organiser.id)


# --- live subscriptions ----------------------------------------------------------------


async def _subscription(services: Services, token: str) -> tuple[Context, Any]:
    ctx = Context(services=services, request=None, actor=None)
    ctx.sign_in(services.access_tokens.decode(token))
    stream = await build_schema(services.settings).subscribe(
        op("OnNotification"), context_value=ctx
    )
    assert hasattr(stream, "__anext__"), stream
    return ctx, stream


async def test_a_live_subscription_ends_unauthenticated_soon_after_logout(
    gql: GraphQLClient, make_org: Any, settings: Settings, services: Services
) -> None:
    await make_org("Alpha")
    session = await login(gql, "organiser@alpha.test")
    # The subscription runs in "another process": its own Services, so its own cache.
    async with api_process(settings) as (_, elsewhere):
        ctx, stream = await _subscription(elsewhere, session["accessToken"])
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.5)
        assert not first.done()  # listening, nothing to say yet
        await gql.op("Logout", {"refreshToken": session["refreshToken"]})
        start = time.monotonic()
        try:
            result = await asyncio.wait_for(first, timeout=WITHIN_SECONDS)
        finally:
            await stream.aclose()
            await ctx.close()
        assert time.monotonic() - start < WITHIN_SECONDS
    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == ["UNAUTHENTICATED"]


# --- Redis outages: the database answers --------------------------------------------------


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    async with RedisServer() as server:
        yield server


@pytest.fixture
def private_settings(settings: Settings, redis_server: RedisServer) -> Settings:
    return settings.model_copy(update={"redis_url": redis_server.url})


@pytest.mark.slow
async def test_with_redis_down_the_database_still_refuses_a_revoked_token(
    make_org: Any, services: Services, private_settings: Settings, redis_server: RedisServer
) -> None:
    org: Org = await make_org("Alpha")
    organiser = str(org.members[Role.ORGANISER].id)
    async with (
        api_process(private_settings) as (one, _),
        api_process(private_settings) as (
            two,
            _,
        ),
    ):
        gone = await login(one, "organiser@alpha.test")
        kept = await login(one, "organiser@alpha.test")
        await redis_server.stop()
        assert await me(two, gone["accessToken"]) == organiser

        # Logged out while Redis is down: the record is only in the database.
        data = await one.op("Logout", {"refreshToken": gone["refreshToken"]})
        assert data["logout"]["ok"] is True
        assert await me(one, gone["accessToken"]) == "UNAUTHENTICATED"
        await refused_within(two, gone["accessToken"])
        # The database refuses only what was revoked.
        assert await me(two, kept["accessToken"]) == organiser

        # Deactivation while Redis is down, too.
        await set_active(one, org, Role.TRAINER, False)
        await refused_within(two, org.token(Role.TRAINER))

        # Redis comes back empty (nothing persisted): still refused, and Redis learns it.
        await redis_server.start()
        await asyncio.sleep(2.5)  # past the caches and the retry pause
        for gql in (one, two):
            assert await me(gql, gone["accessToken"]) == "UNAUTHENTICATED"
            assert await me(gql, org.token(Role.TRAINER)) == "UNAUTHENTICATED"
            assert await me(gql, kept["accessToken"]) == organiser
    async with api_process(private_settings) as (three, fresh):
        keys = [k.decode() async for k in fresh.redis.scan_iter(match="*revoked:*")]
        prefix = f"{private_settings.redis_prefix}revoked:"
        assert f"{prefix}user:{org.members[Role.TRAINER].id}" in keys
        assert f"{prefix}complete" in keys
        assert await me(three, gone["accessToken"]) == "UNAUTHENTICATED"


@pytest.mark.slow
async def test_a_redis_restart_forgets_no_revocation(
    make_org: Any, services: Services, private_settings: Settings, redis_server: RedisServer
) -> None:
    org: Org = await make_org("Alpha")
    organiser = str(org.members[Role.ORGANISER].id)
    async with api_process(private_settings) as (one, _):
        gone = await login(one, "organiser@alpha.test")
        kept = await login(one, "organiser@alpha.test")
        await one.op("Logout", {"refreshToken": gone["refreshToken"]})
        await set_active(one, org, Role.TRAINER, False)
    await redis_server.stop()
    await redis_server.start()  # empty
    async with api_process(private_settings) as (two, _):
        assert await me(two, gone["accessToken"]) == "UNAUTHENTICATED"
        assert await me(two, org.token(Role.TRAINER)) == "UNAUTHENTICATED"
        assert await me(two, kept["accessToken"]) == organiser
