"""What one request costs, held with exact counts (never timings): documents parsed and
validated once, the collector settled after start-up, and the statements and transactions
each hot query takes (see docs/decisions/0009-fast-request-path.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from graphql import parse
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from schema.documents import DocumentCache
from server.accounts.models import Area, UserArea
from server.core.db import Database
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import Notification, NotificationKind, NotificationPreference
from server.web.app import GC_THRESHOLDS, create_app
from tests.conftest import PG_ADMIN_URL, GraphQLClient, Org
from tests.contract_ops import op
from tests.test_query_counts import Seed, seed_areas, seed_audit, seed_members

# --- Documents: parsed and validated once ---------------------------------------------


def nested_areas(parents: int) -> str:
    return (
        "query Deep { areas { edges { node { " + "parent { " * parents + "id" + " }" * (parents + 4)
    )


@pytest.mark.parametrize(
    ("document", "refusal"),
    [
        (nested_areas(12), "QUERY_TOO_DEEP"),
        ("{ " + "me { id } " * 50 + "}", "TOO_MANY_REPEATED_FIELDS"),
        ("{ " + " ".join(f"a{i}: me {{ id }}" for i in range(31)) + " }", "TOO_MANY_ALIASES"),
        ("{ me { id } }\nfragment Unused on User { id }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ me { idd } }", "Cannot query field 'idd' on type 'User'."),
    ],
)
async def test_a_refused_document_stays_refused_when_sent_again(
    gql: GraphQLClient, make_org: Any, document: str, refusal: str
) -> None:
    """Refused by the limits (their code) or by graphql-core's rules (its message)."""
    org: Org = await make_org()
    answers = [await gql.raw(document, token=org.token()) for _ in range(3)]
    first = answers[0]
    assert first.get("data") is None, first
    assert refusal in str(first["errors"][0]), first
    assert answers[1] == first and answers[2] == first


async def test_a_document_over_the_token_limit_stays_refused(
    gql: GraphQLClient, settings: Settings
) -> None:
    document = "{ " + "me { id } " * settings.max_tokens + "}"
    for _ in range(2):
        body = await gql.raw(document)
        assert body.get("data") is None
        assert "more than" in body["errors"][0]["message"], body


async def test_a_cached_document_still_checks_its_variables(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    members = op("Members")
    for first, shown in ((1, 1), (3, 3), (2, 2)):
        data = await gql(members, {"first": first}, token=org.token())
        assert len(data["members"]["edges"]) == shown
    body = await gql.raw(members, {"first": 101}, token=org.token())
    assert body["errors"][0]["message"] == "first must be between 0 and 100.", body
    body = await gql.raw(members, {"first": "many"}, token=org.token())
    assert body.get("data") is None and "Int cannot represent" in body["errors"][0]["message"]
    data = await gql(members, {"first": 2}, token=org.token())
    assert len(data["members"]["edges"]) == 2


async def test_a_cached_document_runs_the_operation_asked_for(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    document = "query Id { me { id } }\nquery Email { me { email } }"
    headers = {"Authorization": f"Bearer {org.token()}"}
    for name, field in (("Id", "id"), ("Email", "email"), ("Id", "id")):
        response = await gql.http.post(
            "/graphql", json={"query": document, "operationName": name}, headers=headers
        )
        assert list(response.json()["data"]["me"]) == [field]


async def test_production_refuses_introspection_from_the_cache_too(
    settings: Settings, services: Services, gql: GraphQLClient
) -> None:
    introspection = '{ __type(name: "User") { name } }'
    assert (await gql.raw(introspection))["data"] == {"__type": {"name": "User"}}
    production = Settings(  # type: ignore[call-arg]
        _env_file=None, **{**settings.model_dump(), "env": "production", "secret_key": "p" * 40}
    )
    app = create_app(production, dataclasses.replace(services, settings=production))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            for _ in range(2):
                body = (await http.post("/graphql", json={"query": introspection})).json()
                assert body.get("data") is None
                assert "introspection has been disabled" in body["errors"][0]["message"]
    assert (await gql.raw(introspection))["data"] == {"__type": {"name": "User"}}


def test_the_document_cache_is_bounded() -> None:
    cache = DocumentCache(max_entries=3, max_chars=100, max_document_chars=40)
    texts = [f"{{ me {{ id{' ' * i} }} }}" for i in range(5)]
    for text in texts:
        cache.put(text, parse(text))
    assert len(cache) == 3
    assert [cache.get(t) is not None for t in texts] == [False, False, True, True, True]
    cache.get(texts[2])  # used last: kept when another comes in
    cache.put("{ me { email } }", parse("{ me { email } }"))
    assert cache.get(texts[2]) is not None and cache.get(texts[3]) is None
    long = "{ me { id } }" + " " * 40
    assert cache.put(long, parse(long)) is None and cache.get(long) is None
    for i in range(40):  # 36 characters each: the character budget keeps two
        text = f"{{ me {{ id }} }} # {i:020}"
        cache.put(text, parse(text))
    assert len(cache) == 2 and cache.chars == 72


# --- The collector ------------------------------------------------------------------------


async def test_the_server_freezes_its_start_up_heap_and_collects_less_often(
    settings: Settings,
) -> None:
    """The process that serves the app (it builds its own services, as uvicorn's factory
    does) settles the collector once started, and puts it back at shutdown."""
    before = gc.get_threshold()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post("/graphql", json={"query": "{ __typename }"})
            assert response.json() == {"data": {"__typename": "Query"}}
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


# --- Statements and transactions ----------------------------------------------------------


CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


class Traffic:
    """What reaches the database: SQLAlchemy's statements, and the transactions they run in,
    on PostgreSQL as asyncpg sends them (BEGIN, COMMIT, ROLLBACK, and a pre-ping's own BEGIN,
    ";" and ROLLBACK would show), on SQLite as SQLAlchemy's transaction events."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.control: list[str] = []

    async def settle(self) -> None:
        """asyncpg tells its query loggers soon after, not at once."""
        for _ in range(5):
            await asyncio.sleep(0)

    async def clear(self) -> None:
        await self.settle()
        self.statements.clear()
        self.control.clear()

    @property
    def transactions(self) -> int:
        return self.control.count("BEGIN")

    @property
    def ends(self) -> int:
        return self.control.count("COMMIT") + self.control.count("ROLLBACK")

    def __str__(self) -> str:
        return "\n".join([*self.control, *self.statements])


@pytest.fixture
async def traffic(services: Services) -> AsyncIterator[Traffic]:
    seen = Traffic()
    engine = services.db.engine.sync_engine
    listeners: list[tuple[str, Any]] = []

    def listen(name: str, fn: Any) -> None:
        sa.event.listen(engine, name, fn)
        listeners.append((name, fn))

    if services.db.dialect == "postgresql":
        await services.db.engine.dispose()  # every connection from now on is watched

        def sent(logged: Any) -> None:
            query = logged.query.strip().rstrip(";").upper() or ";"
            if query == ";" or query in CONTROL:
                seen.control.append(query)

        def watch(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(sent)

        listen("connect", watch)
    else:
        for name in ("begin", "commit", "rollback"):
            listen(name, lambda *_, word=name.upper(): seen.control.append(word))
    listen("before_cursor_execute", lambda _c, _cur, sql, *_: seen.statements.append(sql))
    yield seen
    for name, fn in listeners:
        sa.event.remove(engine, name, fn)


async def test_a_request_that_needs_no_data_opens_no_transaction(
    gql: GraphQLClient, make_org: Any, traffic: Traffic
) -> None:
    org: Org = await make_org()
    await gql(op("Me"), token=org.token())  # the pool holds a connection
    await traffic.clear()
    assert await gql("{ __typename }", token=org.token()) == {"__typename": "Query"}
    body = await gql.raw(op("Me"))  # not signed in: refused before any resolver
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql.raw(op("Me"), token="not-a-token")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await traffic.settle()
    assert traffic.control == [] and traffic.statements == []


async def seed_notifications(services: Services, org: Org, n: int) -> None:
    """n in-app notifications for the admin, every third one read."""
    admin = org.members[Role.ADMIN]
    async with services.db.session() as session:
        session.add_all(
            Notification(
                organisation_id=org.organisation.id,
                user_id=admin.id,
                dedupe_key=f"cost-{org.organisation.id}-{i}",
                kind=NotificationKind.CAMPAIGN_UPDATE,
                title=f"Update {i:02}",
                body="Something happened.",
                read_at=utcnow() if i % 3 == 0 else None,
            )
            for i in range(n)
        )
        await session.commit()


async def seed_me(services: Services, org: Org, n: int) -> None:
    """The admin works in n areas and has preferences of their own."""
    admin = org.members[Role.ADMIN]
    async with services.db.session() as session:
        areas = [Area(organisation_id=org.organisation.id, name=f"Patch {i:02}") for i in range(n)]
        session.add_all(areas)
        await session.flush()
        session.add_all(UserArea(user_id=admin.id, area_id=a.id) for a in areas)
        session.add(NotificationPreference(user_id=admin.id, sms_enabled=True))
        await session.commit()


# operation, variables, seed, the statements one request sends (in its one transaction)
COSTS: dict[str, tuple[dict[str, Any], Seed, list[str]]] = {
    # the member with organisation and preferences joined in; their areas
    "Me": ({}, seed_me, ["users", "user_areas"]),
    "Areas": ({}, seed_areas, ["areas"]),
    "Members": ({"first": 50}, seed_members, ["users", "user_areas", "count"]),
    "AuditLog": ({"first": 50}, seed_audit, ["audit_entries"]),  # actors joined in
    "MyNotifications": ({}, seed_notifications, ["notifications", "count"]),
}


def table_of(statement: str) -> str:
    """The table a SELECT reads first (or "count" for a count)."""
    if statement.startswith("SELECT count("):
        return "count"
    found = re.search(r"\bFROM\s+\"?(\w+)", statement)
    return found.group(1) if found else statement


@pytest.mark.parametrize("name", sorted(COSTS))
async def test_a_hot_query_takes_one_transaction_and_a_fixed_set_of_statements(
    gql: GraphQLClient, make_org: Any, services: Services, traffic: Traffic, name: str
) -> None:
    variables, seed, statements = COSTS[name]
    org: Org = await make_org()
    await seed(services, org, 30)
    first = await gql.op(name, variables, token=org.token())  # the pool and caches warm
    await traffic.clear()
    again = await gql.op(name, variables, token=org.token())
    await traffic.settle()
    assert again == first
    assert traffic.transactions == 1 and traffic.ends == 1, str(traffic)
    assert [table_of(s) for s in traffic.statements] == statements, str(traffic)


async def terminate_backends(database: Database) -> int:
    """End, from the server's side, every connection of the database's pool."""
    async with database.engine.connect() as conn:
        mine = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    admin = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid = $2",
            make_url(database.url).database,
            mine,
        )
    finally:
        await admin.close()
    return int(ended)


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    postgresql_url: str,
) -> None:
    """No ping at every checkout; one that sat idle in the pool is pinged, and replaced when
    the server has dropped it (a restart, an idle timeout)."""
    database = Database(postgresql_url, idle_ping_seconds=0, pool_size=1, max_overflow=0)
    try:
        assert await terminate_backends(database) == 1
        async with database.session() as session:
            assert (await session.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await database.dispose()


async def test_a_dropped_connection_fails_one_request_and_the_pool_recovers(
    postgresql_url: str,
) -> None:
    """Without the idle ping (a busy pool), the request that meets a dropped connection
    fails, and the pool replaces it for the next."""
    database = Database(postgresql_url, idle_ping_seconds=3600, pool_size=1, max_overflow=0)
    try:
        assert await terminate_backends(database) == 1
        with pytest.raises(DBAPIError) as failed:
            async with database.session() as session:
                await session.execute(sa.text("SELECT 1"))
        assert failed.value.connection_invalidated
        async with database.session() as session:
            assert (await session.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await database.dispose()


async def test_me_shows_what_its_one_row_joins_in(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Joined Org")
    data = await gql.op("Me", token=org.token(Role.ORGANISER))
    me = data["me"]
    assert me["organisation"] == {"id": str(org.organisation.id), "name": "Joined Org"}
    assert me["areas"] == []
    assert me["notificationPreferences"] == {  # none stored: the defaults
        "pushEnabled": True,
        "emailEnabled": True,
        "smsEnabled": False,
        "quietHoursStart": None,
        "quietHoursEnd": None,
        "timezone": "Europe/London",
        "digest": "WEEKLY",
    }
    await seed_me(services, org, 2)
    me = (await gql.op("Me", token=org.token(Role.ADMIN)))["me"]
    assert me["displayName"] == "Admin of Joined Org"
    assert me["notificationPreferences"]["smsEnabled"] is True
    assert [a["name"] for a in me["areas"]] == ["Patch 00", "Patch 01"]


MEMBERS_THROUGH_FRAGMENTS = """
query MembersThroughFragments {
  members(first: 50) {
    ...Page
  }
}
fragment Page on UserConnection { edges { node { ... on User { ...Places } } } }
fragment Places on User { displayName areas { name } }
"""


async def test_members_areas_asked_through_fragments_are_preloaded_too(
    gql: GraphQLClient, make_org: Any, services: Services, traffic: Traffic
) -> None:
    org: Org = await make_org()
    await seed_members(services, org, 5)
    await gql(MEMBERS_THROUGH_FRAGMENTS, token=org.token())
    await traffic.clear()
    data = await gql(MEMBERS_THROUGH_FRAGMENTS, token=org.token())
    await traffic.settle()
    nodes = [e["node"] for e in data["members"]["edges"]]
    areas = {n["displayName"]: [a["name"] for a in n["areas"]] for n in nodes}
    assert (
        areas["Member 03"] == ["Patch 3-0", "Patch 3-1"]
        and areas[f"Admin of {org.organisation.name}"] == []
    )
    assert [table_of(s) for s in traffic.statements] == ["users", "user_areas"], str(traffic)
    assert traffic.transactions == 1
