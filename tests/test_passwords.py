"""Passwords: the reset flow through the API, and how hashes are made and checked."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from sqlmodel import col

from server.accounts.models import ActionToken, User
from server.audit.models import AuditEntry
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.outbox.models import OutboxMessage
from server.security.passwords import Passwords
from server.security.tokens import hash_token
from tests.conftest import PASSWORD, GraphQLClient, Org

NEW_PASSWORD = "a brand new passphrase"
ARGON2 = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+$")


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def login(gql: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    result: dict[str, Any] = (await gql.op("Login", {"email": email, "password": password}))[
        "login"
    ]
    return result


async def set_password(gql: GraphQLClient, token: str, password: str) -> dict[str, Any]:
    data = await gql.op("SetPassword", {"input": {"token": token, "password": password}})
    result: dict[str, Any] = data["setPassword"]
    return result


async def reset_emails(services: Services) -> list[OutboxMessage]:
    async with services.db.session() as session:
        rows = await session.scalars(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.topic) == "email.account")
            .order_by(col(OutboxMessage.created_at))
        )
        return list(rows)


async def request_reset(gql: GraphQLClient, services: Services, email: str) -> str:
    """Ask for a reset and return the token from the link in the email it stages."""
    before = len(await reset_emails(services))
    data = await gql.op("RequestPasswordReset", {"email": email})
    assert data == {"requestPasswordReset": {"ok": True}}
    emails = await reset_emails(services)
    assert len(emails) == before + 1
    link = urlsplit(emails[-1].payload["link"])
    assert f"{link.scheme}://{link.netloc}" == services.settings.public_url
    assert link.path == "/set-password"
    [token] = parse_qs(link.query)["token"]
    return token


def argon2_parameters(password_hash: str) -> tuple[int, int, int]:
    match = ARGON2.match(password_hash)
    assert match, password_hash
    m, t, p = (int(g) for g in match.groups())
    return m, t, p


async def stored_hash(services: Services, user_id: uuid.UUID) -> str | None:
    async with services.db.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.password_hash


# The reset flow ----------------------------------------------------------------------


async def test_reset_answers_ok_alike_and_emails_only_real_accounts(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    unknown = await gql.op("RequestPasswordReset", {"email": "nobody@alpha.test"})
    assert await reset_emails(services) == []

    known = await gql.op("RequestPasswordReset", {"email": " Organiser@Alpha.TEST"})
    assert known == unknown == {"requestPasswordReset": {"ok": True}}
    [email] = await reset_emails(services)
    user = org.members[Role.ORGANISER]
    assert email.payload["to"] == "organiser@alpha.test"
    assert email.payload["user_id"] == str(user.id)
    assert email.payload["template"] == "password_reset"
    token = parse_qs(urlsplit(email.payload["link"]).query)["token"][0]
    # The link carries a token that only the database's hash can match.
    async with services.db.session() as session:
        row = await session.scalar(
            sa.select(ActionToken).where(col(ActionToken.token_hash) == hash_token(token))
        )
    assert row is not None and row.user_id == user.id and row.used_at is None


async def test_deactivated_account_gets_no_reset_email(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    async with services.db.session() as session:
        user = await session.get(User, org.members[Role.TRAINER].id)
        assert user is not None
        user.is_active = False
        await session.commit()
    data = await gql.op("RequestPasswordReset", {"email": "trainer@alpha.test"})
    assert data == {"requestPasswordReset": {"ok": True}}
    assert await reset_emails(services) == []


async def test_set_password_with_the_emailed_token(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    user = org.members[Role.ORGANISER]
    token = await request_reset(gql, services, "organiser@alpha.test")

    result = await set_password(gql, token, NEW_PASSWORD)
    assert result["userErrors"] == []
    assert result["user"] == {"id": str(user.id), "displayName": user.display_name}
    me = await gql.op("Me", token=result["session"]["accessToken"])
    assert me["me"]["id"] == str(user.id)
    refreshed = await gql.op("RefreshSession", {"refreshToken": result["session"]["refreshToken"]})
    assert refreshed["refreshSession"]["userErrors"] == []

    assert codes(await login(gql, "organiser@alpha.test", NEW_PASSWORD)) == []
    assert codes(await login(gql, "organiser@alpha.test", PASSWORD)) == ["INVALID"]

    # Single use: the same link again is refused and changes nothing.
    again = await set_password(gql, token, "yet another passphrase")
    assert again["session"] is None
    assert codes(again) == ["EXPIRED"]
    assert again["userErrors"][0]["field"] == "input.token"
    assert codes(await login(gql, "organiser@alpha.test", NEW_PASSWORD)) == []

    async with services.db.session() as session:
        entries = list(
            await session.scalars(
                sa.select(AuditEntry).where(col(AuditEntry.action) == "password.set")
            )
        )
    [entry] = entries
    assert (entry.actor_id, entry.entity_type, entry.entity_id) == (user.id, "User", user.id)


async def test_new_password_ends_other_sessions(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    await make_org("Alpha")
    old_session = (await login(gql, "admin@alpha.test", PASSWORD))["session"]
    token = await request_reset(gql, services, "admin@alpha.test")

    new_session = (await set_password(gql, token, NEW_PASSWORD))["session"]

    old = await gql.op("RefreshSession", {"refreshToken": old_session["refreshToken"]})
    assert codes(old["refreshSession"]) == ["EXPIRED"]
    new = await gql.op("RefreshSession", {"refreshToken": new_session["refreshToken"]})
    assert codes(new["refreshSession"]) == []


async def test_expired_or_unknown_reset_token_is_expired(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    await make_org("Alpha")
    token = await request_reset(gql, services, "trainer@alpha.test")
    async with services.db.session() as session:
        await session.execute(
            sa.update(ActionToken)
            .where(col(ActionToken.token_hash) == hash_token(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()

    expired = await set_password(gql, token, NEW_PASSWORD)
    unknown = await set_password(gql, "made-up-token", NEW_PASSWORD)
    assert expired == unknown
    assert expired["session"] is None
    assert codes(expired) == ["EXPIRED"]
    assert expired["userErrors"][0]["field"] == "input.token"
    assert codes(await login(gql, "trainer@alpha.test", PASSWORD)) == []


async def test_too_short_password_is_refused_without_using_up_the_link(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    await make_org("Alpha")
    token = await request_reset(gql, services, "trainer@alpha.test")

    short = await set_password(gql, token, "short")
    assert short["session"] is None
    [error] = short["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID", "input.password")
    assert "10" in error["message"]
    too_long = await set_password(gql, token, "x" * 257)
    assert [(e["code"], e["field"]) for e in too_long["userErrors"]] == [
        ("INVALID", "input.password")
    ]

    assert codes(await set_password(gql, token, NEW_PASSWORD)) == []


@pytest.mark.parametrize("settings_update", [{"login_attempts_per_account": 2}], ids=["account2"])
async def test_new_password_lifts_a_login_lockout(
    make_org: Any, services: Services, gql: GraphQLClient
) -> None:
    """Someone locked out by failed attempts resets their password and can sign in again."""
    await make_org("Alpha")
    for _ in range(2):
        assert codes(await login(gql, "admin@alpha.test", "wrong password")) == ["INVALID"]
    assert codes(await login(gql, "admin@alpha.test", PASSWORD)) == ["RATE_LIMITED"]

    token = await request_reset(gql, services, "admin@alpha.test")
    assert codes(await set_password(gql, token, NEW_PASSWORD)) == []
    assert codes(await login(gql, "admin@alpha.test", NEW_PASSWORD)) == []


async def test_login_upgrades_a_weaker_hash(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    user = org.members[Role.TRAINER]
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID)
    async with services.db.session() as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.password_hash = weak.hash(PASSWORD)
        await session.commit()

    assert codes(await login(gql, "trainer@alpha.test", PASSWORD)) == []

    upgraded = await stored_hash(services, user.id)
    assert upgraded is not None
    assert argon2_parameters(upgraded) == (19 * 1024, 2, 1)
    assert codes(await login(gql, "trainer@alpha.test", PASSWORD)) == []


# Hashing -----------------------------------------------------------------------------


def test_default_argon2id_parameters_meet_owasp_minimum(password_hash: str) -> None:
    """m=19 MiB, t=2, p=1 at least, read from a real hash made with the default settings."""
    memory_kib, time_cost, parallelism = argon2_parameters(password_hash)
    assert memory_kib >= 19 * 1024
    assert time_cost >= 2
    assert parallelism >= 1


async def test_password_set_through_the_api_is_argon2id_at_owasp_strength(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    token = await request_reset(gql, services, "organiser@alpha.test")
    await set_password(gql, token, NEW_PASSWORD)
    stored = await stored_hash(services, org.members[Role.ORGANISER].id)
    assert stored is not None
    assert NEW_PASSWORD not in stored
    memory_kib, time_cost, parallelism = argon2_parameters(stored)
    assert (memory_kib >= 19 * 1024, time_cost >= 2, parallelism >= 1) == (True, True, True)


async def test_verify(password_hash: str) -> None:
    passwords = Passwords(Settings(_env_file=None))
    assert await passwords.verify(password_hash, PASSWORD)
    assert not await passwords.verify(password_hash, PASSWORD + " ")
    assert not await passwords.verify(None, PASSWORD)
    assert not await passwords.verify(None, "not-a-real-password")
    assert not await passwords.verify("not an argon2 hash", PASSWORD)
    assert not passwords.needs_rehash(password_hash)


class GatedHasher:
    """Stands in for argon2: records how many hashes run at once and on which threads,
    and holds every call until the test opens the gate."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self.entered: asyncio.Queue[str] = asyncio.Queue()
        self.gate = threading.Event()
        self.active = 0
        self.peak = 0
        self.threads: set[int] = set()

    def _run(self, label: str) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.threads.add(threading.get_ident())
        self._loop.call_soon_threadsafe(self.entered.put_nowait, label)
        try:
            assert self.gate.wait(timeout=30), "the test never opened the gate"
        finally:
            with self._lock:
                self.active -= 1

    def hash(self, password: str) -> str:
        self._run(password)
        return f"hashed:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self._run(password)
        return password_hash == f"hashed:{password}"


@pytest.mark.parametrize("bound", [1, 2])
async def test_hashing_runs_off_the_loop_with_bounded_concurrency(bound: int) -> None:
    settings = Settings(_env_file=None, max_concurrent_hashes=bound)
    passwords = Passwords(settings)
    gate = GatedHasher(asyncio.get_running_loop())
    passwords._hasher = gate  # type: ignore[assignment]

    calls = [
        passwords.hash("one"),
        passwords.verify("hashed:two", "two"),
        passwords.hash("three"),
        passwords.verify("hashed:x", "four"),
    ]
    tasks = [asyncio.create_task(c) for c in calls]
    for _ in range(bound):
        await asyncio.wait_for(gate.entered.get(), timeout=10)
    # `bound` calls are inside the hasher, held there. Give the others every chance to
    # start too: they must stay queued (this waits; it asserts nothing about time).
    _, pending = await asyncio.wait(tasks, timeout=0.2)
    assert len(pending) == len(tasks)
    assert gate.entered.empty()
    assert gate.active == bound

    gate.gate.set()
    results = await asyncio.gather(*tasks)

    assert results == ["hashed:one", True, "hashed:three", False]
    assert gate.peak == bound
    assert threading.get_ident() not in gate.threads  # never on the event loop's thread


async def test_reset_requests_are_limited_per_address_and_only_the_newest_link_works(
    gql, make_org, services
):
    await make_org("Limit")
    for _ in range(services.settings.password_resets_per_hour + 2):
        answer = await gql.op("RequestPasswordReset", {"email": "organiser@limit.test"})
        assert answer["requestPasswordReset"]["ok"] is True
    async with services.db.session() as session:
        rows = (
            await session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.created_at))
        ).all()
    assert len(rows) == services.settings.password_resets_per_hour
    tokens = [r.payload["link"].split("token=")[1] for r in rows]
    stale = await gql.op(
        "SetPassword", {"input": {"token": tokens[0], "password": "a brand new password"}}
    )
    assert stale["setPassword"]["userErrors"][0]["code"] == "EXPIRED"
    fresh = await gql.op(
        "SetPassword", {"input": {"token": tokens[-1], "password": "a brand new password"}}
    )
    assert fresh["setPassword"]["userErrors"] == []
