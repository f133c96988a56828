"""Test fixtures: real PostgreSQL and SQLite, real Redis, the real ASGI app.

Every database test runs on both backends. PostgreSQL gets a database of its own per test
session (created here, dropped at the end); Redis keys carry a prefix of their own per test.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from server.accounts.models import Area, Organisation, User
from server.cli.migrate import upgrade
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.security.access import Actor
from server.security.tokens import AccessClaims
from server.web.app import create_app
from tests.contract_ops import op
from tests.helpers import SECRET

PG_ADMIN_URL = os.environ.get(
    "DOORSTEP_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("DOORSTEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery staple"


def _asyncpg_dsn(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    admin = make_url(PG_ADMIN_URL)
    name = f"doorstep_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(admin))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(admin))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    url = admin.set(database=name).render_as_string(hide_password=False)
    asyncio.run(upgrade(url))
    yield url
    asyncio.run(drop())


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "doorstep.db"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(upgrade(url))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def settings_update() -> dict[str, Any]:
    """Changes to the test's settings; a test parametrizes it to use other limits."""
    return {}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, settings_update: dict[str, Any]) -> Settings:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_prefix=f"doorstep-test:{uuid.uuid4().hex}:",
        secret_key=SECRET,
        var_dir=tmp_path / "var",
        public_url="http://doorstep.test",
        worker_shutdown_grace_seconds=0,
    )
    return settings.model_copy(update=settings_update)


async def _empty_tables(services: Services) -> None:
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    async with services.db.engine.begin() as conn:
        if services.db.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in tables:
                await conn.execute(table.delete())


async def _drop_redis_keys(services: Services) -> None:
    # saq's keys start with the prefix too (server.core.queue).
    pattern = f"*{services.settings.redis_prefix}*"
    keys = [k async for k in services.redis.scan_iter(match=pattern)]
    if keys:
        await services.redis.delete(*keys)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services.create(settings)
    try:
        yield services
    finally:
        await _empty_tables(services)
        await _drop_redis_keys(services)
        await services.close()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One real argon2id hash of PASSWORD, made once: most tests need a member, not a hash."""
    from server.security.passwords import Passwords

    return asyncio.run(Passwords(Settings(_env_file=None)).hash(PASSWORD))  # type: ignore[call-arg]


@dataclass
class Org:
    """An organisation with one member of each role, and their access tokens."""

    organisation: Organisation
    members: dict[Role, User]
    tokens: dict[Role, str]
    area: Area
    extra: dict[str, Any] = field(default_factory=dict)

    def actor(self, role: Role) -> Actor:
        user = self.members[role]
        return Actor(user.id, user.organisation_id, user.role)

    def token(self, role: Role = Role.ADMIN) -> str:
        return self.tokens[role]


@pytest.fixture
def make_org(services: Services, password_hash: str) -> Any:
    async def make(name: str | None = None) -> Org:
        name = name or f"Org {uuid.uuid4().hex[:6]}"
        slug = name.lower().replace(" ", "-")
        async with services.db.session() as session:
            org = Organisation(name=name)
            session.add(org)
            await session.flush()
            area = Area(organisation_id=org.id, name=f"{name} Ward", kind="ward")
            session.add(area)
            members: dict[Role, User] = {}
            for role in Role:
                user = User(
                    organisation_id=org.id,
                    email=f"{role.value.lower()}@{slug}.test",
                    display_name=f"{role.value.title()} of {name}",
                    role=role,
                    password_hash=password_hash,
                )
                session.add(user)
                members[role] = user
            await session.commit()
        tokens = {
            role: services.access_tokens.issue(AccessClaims(u.id, org.id, role, uuid.uuid4()))[0]
            for role, u in members.items()
        }
        return Org(org, members, tokens, area)

    return make


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code in (200, 400), response.text
        body: dict[str, Any] = response.json()
        return body

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Run a query that must succeed; returns its data."""
        body = await self.raw(query, variables, token)
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    async def op(
        self, name: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Run one of the client contract's operations, exactly as the clients send it."""
        return await self(op(name), variables, token)


@pytest.fixture
async def app(settings: Settings, services: Services) -> AsyncIterator[Any]:
    application = create_app(settings, services)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def gql(app: Any) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://doorstep.test") as http:
        yield GraphQLClient(http)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(services: Services) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    sa.event.listen(services.db.engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(services.db.engine.sync_engine, "before_cursor_execute", counter)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(message: str) -> NoReturn:
    """Something a test needs from outside the repository is not here: skip it, except in
    CI (CI=true), where it must be there and the test fails."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
