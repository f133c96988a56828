"""How failures reach clients: masked surprises, visible refusals, userErrors; health checks."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import socket
from typing import Any

import httpx
import pytest

from server.accounts import areas
from server.core.enums import Role
from server.core.preflight import ConfigurationError, production_problems
from server.core.services import Services
from server.core.settings import Settings, get_settings
from server.web.app import create_app
from tests.conftest import GraphQLClient
from tests.test_graphql_limits import PRODUCTION, ClientFactory, client_with

__all__ = ["client_with"]  # the fixture, used below

AREAS = "query Areas { areas { edges { node { id } } } }"


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("database exploded: secret detail")


async def test_unexpected_error_is_masked_in_production(
    client_with: ClientFactory,
    make_org: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org = await make_org()
    monkeypatch.setattr(areas, "list_areas", boom)
    caplog.set_level(logging.ERROR, logger="doorstep.graphql")
    async with client_with(**PRODUCTION) as client:
        response = await client.http.post(
            "/graphql", json={"query": AREAS}, headers={"Authorization": f"Bearer {org.token()}"}
        )
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) >= 8
    [error] = response.json()["errors"]
    assert error["message"] == f"Something went wrong on our side (request id {request_id})."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert error["path"] == ["areas"]
    assert "secret detail" not in response.text

    [record] = [r for r in caplog.records if r.name == "doorstep.graphql"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "secret detail" in caplog.text  # the traceback is in the log, not the response
    assert "Traceback" in caplog.text


async def test_masked_error_carries_the_callers_request_id(
    client_with: ClientFactory, make_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await make_org()
    monkeypatch.setattr(areas, "list_areas", boom)
    async with client_with(**PRODUCTION) as client:
        response = await client.http.post(
            "/graphql",
            json={"query": AREAS},
            headers={"Authorization": f"Bearer {org.token()}", "X-Request-ID": "trace-12345678"},
        )
    assert response.headers["X-Request-ID"] == "trace-12345678"
    assert response.json()["errors"][0]["extensions"]["requestId"] == "trace-12345678"


async def test_unexpected_error_in_a_mutation_is_masked_in_production(
    client_with: ClientFactory, make_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await make_org()
    monkeypatch.setattr(areas, "create_area", boom)
    async with client_with(**PRODUCTION) as client:
        body = await client.raw(
            'mutation { createArea(input: {name: "X"}) { area { id } } }', token=org.token()
        )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret detail" not in str(body)


async def test_unexpected_error_is_not_masked_in_development(
    gql: GraphQLClient,
    make_org: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org = await make_org()
    monkeypatch.setattr(areas, "list_areas", boom)
    caplog.set_level(logging.ERROR, logger="doorstep.graphql")
    body = await gql.raw(AREAS, token=org.token())
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["database exploded: secret detail"]
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
async def test_access_denied_is_forbidden_and_not_masked(
    client_with: ClientFactory,
    make_org: Any,
    production: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org = await make_org()
    caplog.set_level(logging.ERROR, logger="doorstep.graphql")
    async with client_with(**(PRODUCTION if production else {})) as client:
        body = await client.raw(
            "{ members { edges { node { id } } } }", token=org.token(Role.ORGANISER)
        )
        [error] = body["errors"]
        assert error["message"] == "You may not do this."
        assert error["extensions"] == {"code": "FORBIDDEN"}
        assert body["data"] is None

        body = await client.raw("{ me { id } }")
        [error] = body["errors"]
        assert error["message"] == "Sign in to do this."
        assert error["extensions"] == {"code": "UNAUTHENTICATED"}

        # A forged or expired token is the same as none.
        body = await client.raw("{ me { id } }", token=org.token() + "x")
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert not [r for r in caplog.records if r.name == "doorstep.graphql"]


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
async def test_expected_failures_are_user_errors(
    client_with: ClientFactory, make_org: Any, production: bool
) -> None:
    org = await make_org()
    async with client_with(**(PRODUCTION if production else {})) as client:
        data = await client(
            "mutation CreateArea($input: CreateAreaInput!) { createArea(input: $input) {"
            " area { id } userErrors { field message code } } }",
            {"input": {"name": "  ", "postcodePrefixes": ["E1", "nope!"]}},
            token=org.token(),
        )
    assert data["createArea"]["area"] is None
    assert data["createArea"]["userErrors"] == [
        {"field": "input.name", "message": "Enter a name.", "code": "REQUIRED"},
        {
            "field": "input.postcodePrefixes.1",
            "message": "'nope!' is not the start of a UK postcode.",
            "code": "INVALID",
        },
    ]


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


ANY_ID = "8336316e-5399-4703-8396-12eb6537bc59"
FORGED_EVERYWHERE = {
    "garbage": "not-a-cursor",
    "too-short": _cursor(["only one"]),
    "numbers": _cursor([1, 2]),
    "number-id": _cursor(["Name", 5]),
    "nulls": _cursor([None, None]),
    "object": _cursor({"a": 1}),
}
FORGED = [
    *(
        (field, cursor)
        for field in ("areas", "members", "auditLog")
        for cursor in FORGED_EVERYWHERE.values()
    ),
    ("auditLog", _cursor(["2026-01-01T00:00:00", ANY_ID])),  # a time without an offset
    ("auditLog", _cursor(["yesterday", ANY_ID])),
    ("auditLog", _cursor(["2026-01-01T00:00:00Z", "not-a-uuid"])),
    ("areas", _cursor(["Name", "not-a-uuid"])),
]


@pytest.mark.parametrize(("field", "cursor"), FORGED)
async def test_forged_cursors_are_bad_user_input(
    client_with: ClientFactory, make_org: Any, field: str, cursor: str
) -> None:
    org = await make_org()
    async with client_with(**PRODUCTION) as client:
        body = await client.raw(
            f"query($after: String) {{ {field}(after: $after) {{ edges {{ node {{ id }} }} }} }}",
            {"after": cursor},
            token=org.token(),
        )
    [error] = body["errors"]
    assert error["message"] == "This cursor is not valid."
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


# --- Start-up configuration -------------------------------------------------------------


def test_production_settings_require_a_secret_key() -> None:
    """One of the start-up checks (tests/test_preflight.py runs them all as commands)."""
    secret = "DOORSTEP_SECRET_KEY must be set to at least 32 characters in production"
    assert secret in production_problems(Settings(_env_file=None, env="production"))  # type: ignore[call-arg]
    short = Settings(_env_file=None, env="production", secret_key="short")  # type: ignore[call-arg]
    assert secret in production_problems(short)
    assert secret not in production_problems(Settings(_env_file=None, **PRODUCTION))  # type: ignore[arg-type,call-arg]


def test_production_app_refuses_to_start_without_a_secret_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DOORSTEP_ENV", "production")
    monkeypatch.delenv("DOORSTEP_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match="DOORSTEP_SECRET_KEY"):
            create_app()
    finally:
        get_settings.cache_clear()


# --- Health -----------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def get(app: Any, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://doorstep.test") as http:
        return await http.get(path)


async def test_healthz(gql: GraphQLClient) -> None:
    response = await gql.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_everything_is_reachable(gql: GraphQLClient) -> None:
    response = await gql.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "redis": "ok"}


async def test_readyz_names_unreachable_redis(settings: Settings, services: Services) -> None:
    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"})
    own = Services.create(broken)
    try:
        app = create_app(broken, dataclasses.replace(own, db=services.db))
        async with app.router.lifespan_context(app):
            response = await get(app, "/readyz")
    finally:
        await own.redis.aclose()
        await own.db.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["database"] == "ok"
    assert body["redis"].startswith("unavailable")


async def test_readyz_names_unreachable_database(settings: Settings, services: Services) -> None:
    url = f"postgresql+asyncpg://doorstep@127.0.0.1:{closed_port()}/doorstep"
    broken = settings.model_copy(update={"database_url": url})
    own = Services.create(broken)
    try:
        app = create_app(broken, dataclasses.replace(own, redis=services.redis))
        async with app.router.lifespan_context(app):
            response = await get(app, "/readyz")
    finally:
        await own.redis.aclose()
        await own.db.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["redis"] == "ok"
    assert body["database"].startswith("unavailable")
