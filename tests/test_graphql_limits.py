"""The endpoint's protections: query limits, page sizes, body size, GET, production mode."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query, parse, validate

from schema import schema
from schema.limits import MAX_REPEATED_PAIRS, Limits, limits_rule
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.web.app import create_app
from tests.conftest import GraphQLClient
from tests.contract_ops import operations as contract_operations

PRODUCTION = {"env": "production", "secret_key": "p" * 40}

ClientFactory = Callable[..., AbstractAsyncContextManager[GraphQLClient]]


@pytest.fixture
def client_with(settings: Settings, services: Services) -> ClientFactory:
    """A GraphQL client for an app built with these settings changed (same database)."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[GraphQLClient]:
        changed = Settings(_env_file=None, **{**settings.model_dump(), **overrides})  # type: ignore[call-arg]
        app = create_app(changed, dataclasses.replace(services, settings=changed))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://doorstep.test"
            ) as http:
                yield GraphQLClient(http)

    return make


def messages(body: dict[str, Any]) -> list[str]:
    return [e["message"] for e in body.get("errors") or []]


# --- Query depth, aliases, tokens -------------------------------------------------------


async def test_depth_limit(gql: GraphQLClient, make_org: Any, settings: Settings) -> None:
    org = await make_org()
    token = org.token(Role.ADMIN)

    def nested(parents: int) -> str:
        return (
            "query Deep { areas { edges { node { "
            + "parent { " * parents
            + "id"
            + " }" * (parents + 4)
        )

    # areas > edges > node > parent... : depth 3 + parents
    ok = await gql.raw(nested(settings.max_query_depth - 3), token=token)
    assert "errors" not in ok, ok
    body = await gql.raw(nested(settings.max_query_depth), token=token)
    assert body.get("data") is None
    assert messages(body) == [
        f"'Deep' exceeds maximum operation depth of {settings.max_query_depth}"
    ]


async def test_depth_limit_through_fragments(gql: GraphQLClient, make_org: Any) -> None:
    org = await make_org()
    query = (
        "query Deep { areas { edges { node { ...P } } } }\n"
        "fragment P on Area { parent { parent { parent { parent { parent { parent { parent"
        " { parent { parent { parent { id } } } } } } } } } } }"
    )
    body = await gql.raw(query, token=org.token())
    assert body.get("data") is None
    assert "exceeds maximum operation depth" in messages(body)[0]


async def test_alias_limit(gql: GraphQLClient, make_org: Any, settings: Settings) -> None:
    org = await make_org()
    limit = settings.max_aliases
    ok = await gql.raw(
        "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(limit)) + " }", token=org.token()
    )
    assert "errors" not in ok
    body = await gql.raw(
        "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(limit + 1)) + " }", token=org.token()
    )
    assert body.get("data") is None
    assert messages(body) == [f"{limit + 1} aliases found. Allowed: {limit}"]


async def test_alias_limit_counts_aliases_in_fragments(gql: GraphQLClient, make_org: Any) -> None:
    org = await make_org()
    fragment = "fragment F on User { " + " ".join(f"x{i}: id" for i in range(20)) + " }"
    body = await gql.raw("{ a: me { ...F } b: me { ...F } }\n" + fragment, token=org.token())
    assert body.get("data") is None
    assert "aliases found" in messages(body)[0]


async def test_token_limit(gql: GraphQLClient, settings: Settings) -> None:
    # Each "id" counts once; the limit refuses before anything runs (no sign-in needed).
    query = "{ me { " + "id " * settings.max_tokens + "} }"
    body = await gql.raw(query)
    assert body.get("data") is None
    assert messages(body) == [
        f"Syntax Error: Document contains more than {settings.max_tokens} tokens. Parsing aborted."
    ]


# --- Cost and repeated fields ----------------------------------------------------------

PAGE = "edges { node { id } }"  # edges 1 + node 1 + id 1
COSTS = [
    # (document, its cost): a field costs 1 plus what it selects times its page size
    ("{ me { id } }", 2),
    (f"{{ members(first: 100) {{ {PAGE} }} }}", 1 + 100 * 3),
    (f"{{ members {{ {PAGE} }} }}", 1 + 50 * 3),  # the schema's default page
    (f"query($n: Int = 10) {{ members(first: $n) {{ {PAGE} }} }}", 1 + 10 * 3),
    (f"query($n: Int) {{ members(first: $n) {{ {PAGE} }} }}", 1 + 100 * 3),  # largest page
    (f"{{ members(first: 5000) {{ {PAGE} }} }}", 1 + 100 * 3),  # never over the largest
    (f"{{ members(first: 0) {{ {PAGE} }} }}", 1 + 1 * 3),
    # fragments expanded, at every spread
    ("{ a: me { ...U } b: me { ...U } } fragment U on User { id displayName }", 2 * 3),
    (
        f"{{ ...M ...M }} fragment M on Query {{ members(first: 20) {{ {PAGE} }} }}",
        2 * (1 + 20 * 3),
    ),
    (f"{{ me {{ id }} ... on Query {{ areas(first: 7) {{ {PAGE} }} }} }}", 2 + 1 + 7 * 3),
]


@pytest.mark.parametrize(("query", "cost"), COSTS)
async def test_cost_limit_refuses_over_the_budget_with_the_cost(
    client_with: ClientFactory, make_org: Any, query: str, cost: int
) -> None:
    org = await make_org()
    variables = {"n": 1} if "$n" in query else {}  # a variable's value never lowers the cost
    async with client_with(max_query_cost=cost - 1) as client:
        body = await client.raw(query, variables, token=org.token())
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["message"].startswith(
        f"The document costs {cost}, over the limit of {cost - 1}."
    ), error
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY"}
    async with client_with(max_query_cost=cost) as client:
        body = await client.raw(query, variables, token=org.token())
    assert "QUERY_TOO_COSTLY" not in str(body), body


def test_every_contract_operation_fits_the_cost_limit_four_times_over() -> None:
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    tight = limits_rule(
        Limits.of(default.model_copy(update={"max_query_cost": default.max_query_cost // 4}))
    )
    documents = contract_operations()
    for name, document in documents.items():
        assert validate(schema._schema, parse(document), [tight]) == [], name
    assert len(documents) == 59


async def test_repeated_fields_are_refused(gql: GraphQLClient) -> None:
    body = await gql.raw("{ " + "me { id } " * 50 + "}")
    assert body.get("data") is None
    [error] = body["errors"]
    pairs = 2 * (50 * 49 // 2)  # `me` and `me.id`, 50 fields each
    assert error["message"] == (
        "The document repeats fields too often: 'me' is selected 50 times. With fragments "
        f"expanded, merging repeated fields takes {pairs} comparisons, over the limit of "
        f"{MAX_REPEATED_PAIRS}."
    )
    assert error["extensions"] == {"code": "TOO_MANY_REPEATED_FIELDS"}


async def test_repeated_fields_through_fragments_are_counted(gql: GraphQLClient) -> None:
    fragments = "\n".join(f"fragment F{i} on Query {{ me {{ id }} }}" for i in range(50))
    query = "{ " + " ".join(f"...F{i}" for i in range(50)) + " }\n" + fragments
    [error] = (await gql.raw(query))["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_REPEATED_FIELDS"}
    assert "'me' is selected 50 times" in error["message"]


async def test_a_field_repeated_by_a_fragment_or_two_is_fine(
    gql: GraphQLClient, make_org: Any
) -> None:
    org = await make_org()
    query = (
        "{ me { id ...A ...B organisation { id name } } }\n"
        "fragment A on User { id displayName organisation { id } }\n"
        "fragment B on User { id displayName organisation { name } }"
    )
    data = await gql(query, token=org.token())
    assert data["me"]["organisation"]["name"] == org.organisation.name


async def test_a_fragment_cycle_is_refused_before_the_fields_are_compared(
    gql: GraphQLClient,
) -> None:
    """A cycle makes the document invalid; the limits cannot expand it, so they refuse it."""
    query = (
        "{ ...A " + "me { id } " * 550 + "}\n"
        "fragment A on Query { ...B } fragment B on Query { ...A }"
    )
    body = await gql.raw(query)
    assert messages(body) == ["Cannot spread fragment 'A' within itself."]


async def test_an_unused_fragment_is_refused_before_the_fields_are_compared(
    gql: GraphQLClient,
) -> None:
    query = "{ __typename }\nfragment X on Query { " + "me { id } " * 550 + "}"
    assert messages(await gql.raw(query)) == ["Fragment 'X' is never used."]


# --- Page sizes -------------------------------------------------------------------------

CONNECTIONS = {
    field: f"query($first: Int) {{ {field}(first: $first) {{ edges {{ node {{ id }} }} }} }}"
    for field in (
        "areas",
        "members",
        "auditLog",
        "notifications",
        "deliveryFailures",
        "campaigns",
        "followUps",
        "residents",
        "programmes",
        "cohorts",
    )
}
# A campaign's changes come 200 to a page by default (the app's download), at most 500.
CONNECTIONS["conversations"] = (
    "query($first: Int) { conversations(filter: {campaignId: "
    '"00000000-0000-0000-0000-000000000000"}, first: $first) { edges { node { id } } } }'
)
CONNECTIONS["campaignResponses"] = (
    "query($first: Int) { campaignResponses(campaignId: "
    '"00000000-0000-0000-0000-000000000000", first: $first) { edges { node { id } } } }'
)
LIMITS = {"conversations": 500}


def test_every_paginated_field_is_checked() -> None:
    query = schema._schema.query_type
    assert query is not None
    paginated = {name for name, f in query.fields.items() if "first" in f.args}
    assert sorted(paginated) == sorted(CONNECTIONS)


@pytest.mark.parametrize("field", sorted(CONNECTIONS))
@pytest.mark.parametrize("first", [101, -1])
async def test_page_size_is_refused_outside_0_to_100(
    gql: GraphQLClient, make_org: Any, field: str, first: int
) -> None:
    org = await make_org()
    limit = LIMITS.get(field, 100)
    first = limit + 1 if first > 0 else first
    body = await gql.raw(CONNECTIONS[field], {"first": first}, token=org.token(Role.ADMIN))
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == f"first must be between 0 and {limit}."
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == [field]


@pytest.mark.parametrize("field", sorted(CONNECTIONS))
async def test_page_size_100_is_allowed(gql: GraphQLClient, make_org: Any, field: str) -> None:
    org = await make_org()
    data = await gql(CONNECTIONS[field], {"first": 100}, token=org.token(Role.ADMIN))
    assert isinstance(data[field]["edges"], list)


async def test_page_size_via_contract_operations(gql: GraphQLClient, make_org: Any) -> None:
    org = await make_org()
    for name, variables in (
        ("Members", {"first": 101}),
        ("AuditLog", {"first": 101}),
        ("Members", {"first": -5}),
    ):
        body = await gql.raw(gql_op(name), variables, token=org.token())
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], name


def gql_op(name: str) -> str:
    from tests.contract_ops import op

    return op(name)


# --- Request bodies ---------------------------------------------------------------------


async def test_body_over_the_limit_is_413(gql: GraphQLClient, settings: Settings) -> None:
    padding = " " * settings.max_body_bytes
    response = await gql.http.post(
        "/graphql",
        content=f'{{"query": "{{ __typename }}{padding}"}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert str(settings.max_body_bytes) in error["message"]


async def test_chunked_body_over_the_limit_is_413(gql: GraphQLClient, settings: Settings) -> None:
    chunk = b" " * 65536
    chunks = settings.max_body_bytes // len(chunk) + 2

    async def body() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }'
        for _ in range(chunks):
            yield chunk
        yield b'"}'

    response = await gql.http.post(
        "/graphql", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_chunked_body_under_the_limit_is_served(gql: GraphQLClient) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"query": '
        yield b'"{ __typename }"}'

    response = await gql.http.post(
        "/graphql", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_body_just_under_the_limit_is_not_refused(
    client_with: ClientFactory,
) -> None:
    async with client_with(max_body_bytes=10_000, max_tokens=100_000) as client:
        query = "{ __typename }" + " " * 9_000
        response = await client.http.post("/graphql", json={"query": query})
        assert response.status_code == 200
        response = await client.http.post("/graphql", json={"query": query + " " * 1_000})
        assert response.status_code == 413


BAD_BODIES = [
    # (body, the error's message)
    (b'"hello"', "The request body must be a JSON object, not a string."),
    (b"null", "The request body must be a JSON object, not null."),
    (b"42", "The request body must be a JSON object, not a number."),
    (b"4.2", "The request body must be a JSON object, not a number."),
    (b"true", "The request body must be a JSON object, not true or false."),
    (b'[{"query": "{ __typename }"}]', "Send one operation per request: batching is not enabled."),
    (b"[]", "Send one operation per request: batching is not enabled."),
    (b'{"query": "{ __typename }\xe9"}', "The request body is not valid UTF-8."),
    (b"\xc3\x28", "The request body is not valid UTF-8."),
    (b'{"query": ', "The request is not valid JSON."),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
async def test_a_body_that_is_not_one_request_is_a_400_with_a_graphql_error(
    gql: GraphQLClient, body: bytes, message: str
) -> None:
    response = await gql.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    }


async def test_get_with_bad_json_variables_is_a_400_with_a_graphql_error(
    gql: GraphQLClient,
) -> None:
    response = await gql.http.get(
        "/graphql", params={"query": "{ __typename }", "variables": "{nope"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


# --- GET --------------------------------------------------------------------------------


async def test_get_runs_queries(gql: GraphQLClient, make_org: Any) -> None:
    org = await make_org("Getters")
    response = await gql.http.get(
        "/graphql",
        params={"query": "{ me { organisation { name } } }"},
        headers={"Authorization": f"Bearer {org.token()}"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"organisation": {"name": "Getters"}}}}


async def test_get_refuses_mutations(gql: GraphQLClient, make_org: Any) -> None:
    org = await make_org()
    response = await gql.http.get(
        "/graphql",
        params={"query": 'mutation { createArea(input: {name: "Via GET"}) { area { id } } }'},
        headers={"Authorization": f"Bearer {org.token()}"},
    )
    assert response.status_code == 400
    assert response.text == "mutations are not allowed when using GET"
    areas = await gql("{ areas { edges { node { name } } } }", token=org.token())
    assert "Via GET" not in [e["node"]["name"] for e in areas["areas"]["edges"]]


# --- Production and development ---------------------------------------------------------

INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_production_refuses_introspection(client_with: ClientFactory) -> None:
    async with client_with(**PRODUCTION) as client:
        body = await client.raw(INTROSPECTION)
        assert body.get("data") is None
        assert messages(body)[0] == (
            "GraphQL introspection has been disabled, "
            "but the requested query contained the field '__schema'."
        )
        body = await client.raw('{ __type(name: "User") { name } }')
        assert body.get("data") is None


async def test_development_allows_introspection(gql: GraphQLClient) -> None:
    assert await gql(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}


async def test_graphiqls_introspection_fits_the_limits(gql: GraphQLClient) -> None:
    """The limits leave room for the full introspection query that GraphiQL sends."""
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    data = await gql(query)
    names = {t["name"] for t in data["__schema"]["types"]}
    assert {"Query", "Mutation", "User", "Area", "AuditEntry"} <= names


async def test_production_does_not_serve_graphiql(client_with: ClientFactory) -> None:
    async with client_with(**PRODUCTION) as client:
        response = await client.http.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 404
        assert "graphiql" not in response.text.lower()


async def test_development_serves_graphiql(gql: GraphQLClient) -> None:
    response = await gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_production_gives_no_field_suggestions(
    client_with: ClientFactory, gql: GraphQLClient
) -> None:
    query = "{ mee { id } }"
    dev = messages(await gql.raw(query))
    assert dev == ["Cannot query field 'mee' on type 'Query'. Did you mean 'me'?"]
    async with client_with(**PRODUCTION) as client:
        prod = messages(await client.raw(query))
    assert prod == ["Cannot query field 'mee' on type 'Query'."]


SUGGESTING = [
    # (query, variables): each names something close to a real name of the schema
    ("{ mee { id } }", {}),
    ("{ members(filtr: {role: ADMIN}) { totalCount } }", {}),
    ("{ members(filter: {role: ADMN}) { totalCount } }", {}),
    ("query($r: Role) { members(filter: {role: $r}) { totalCount } }", {"r": "ADMN"}),
    ("mutation($i: CreateAreaInpt!) { createArea(input: $i) { area { id } } }", {"i": {}}),
    (
        "mutation($i: CreateAreaInput!) { createArea(input: $i) { area { id } } }",
        {"i": {"name": "x", "kindd": "y"}},
    ),
    ("{ me { id ... on Usr { id } } }", {}),
]


@pytest.mark.parametrize(("query", "variables"), SUGGESTING)
async def test_production_suggests_nothing(
    client_with: ClientFactory,
    gql: GraphQLClient,
    make_org: Any,
    query: str,
    variables: dict[str, Any],
) -> None:
    """Suggestions would spell out the schema that introspection keeps to itself."""
    org = await make_org()
    dev = messages(await gql.raw(query, variables, token=org.token()))
    assert any("Did you mean" in m for m in dev), dev
    async with client_with(**PRODUCTION) as client:
        prod = messages(await client.raw(query, variables, token=org.token()))
    assert prod
    assert not [m for m in prod if "Did you mean" in m]
    assert len(prod) == len(dev)
    assert all(m.endswith((".", "}.", "'.")) for m in prod), prod


async def test_production_still_enforces_the_limits(
    client_with: ClientFactory, make_org: Any, settings: Settings
) -> None:
    org = await make_org()
    async with client_with(**PRODUCTION) as client:
        body = await client.raw(
            "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(settings.max_aliases + 1)) + " }",
            token=org.token(),
        )
        assert "aliases found" in messages(body)[0]
        body = await client.raw(CONNECTIONS["areas"], {"first": 101}, token=org.token())
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["errors"][0]["message"] == "first must be between 0 and 100."
