"""What one request costs, held with exact counts (never timings): documents parsed and
validated once, the collector settled after start-up, and the statements and transactions
each hot query takes (see docs/decisions/0009-fast-request-path.md)."""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

import httpx
import pytest
from graphql import parse

from schema.documents import DocumentCache
from server.core.services import Services
from server.core.settings import Settings
from server.web.app import GC_THRESHOLDS, create_app
from tests.conftest import GraphQLClient, Org
from tests.contract_ops import op

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
