"""CORS on /graphql: browser clients on DOORSTEP_ALLOWED_ORIGINS may call it, others not."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.enums import Role
from tests.test_graphql_limits import ClientFactory, client_with

__all__ = ["client_with"]  # the fixture, used below

APP = "https://app.doorstep.example.org"
OTHER = "https://evil.example.com"
ME = {"query": "{ me { displayName } }"}


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def comma_set(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


async def test_a_listed_origin_passes_the_preflight_and_reads_the_answer(
    client_with: ClientFactory, make_org: Any
) -> None:
    org = await make_org("Alpha")
    async with client_with(allowed_origins=[APP]) as client:
        answer = await client.http.options("/graphql", headers=preflight(APP))
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == APP
        assert "post" in comma_set(answer.headers["access-control-allow-methods"])
        assert {"authorization", "content-type"} <= comma_set(
            answer.headers["access-control-allow-headers"]
        )
        assert "access-control-allow-credentials" not in answer.headers  # bearer tokens only

        response = await client.http.post(
            "/graphql",
            json=ME,
            headers={"Origin": APP, "Authorization": f"Bearer {org.token(Role.ORGANISER)}"},
        )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["displayName"] == "Organiser of Alpha"
    assert response.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in comma_set(response.headers["access-control-expose-headers"])


@pytest.mark.parametrize("allowed", [[APP], []], ids=["other-listed", "none-listed"])
async def test_an_unlisted_origin_is_refused(
    client_with: ClientFactory, make_org: Any, allowed: list[str]
) -> None:
    org = await make_org("Alpha")
    async with client_with(allowed_origins=allowed) as client:
        answer = await client.http.options("/graphql", headers=preflight(OTHER))
        assert answer.status_code == 400
        assert "access-control-allow-origin" not in answer.headers

        response = await client.http.post(
            "/graphql",
            json=ME,
            headers={"Origin": OTHER, "Authorization": f"Bearer {org.token(Role.ORGANISER)}"},
        )
    # The browser withholds the answer from the page: nothing allows this origin to read it.
    assert "access-control-allow-origin" not in response.headers


async def test_native_apps_without_an_origin_are_unaffected(
    client_with: ClientFactory, make_org: Any
) -> None:
    org = await make_org("Alpha")
    async with client_with(allowed_origins=[APP]) as client:
        response = await client.http.post(
            "/graphql", json=ME, headers={"Authorization": f"Bearer {org.token(Role.ORGANISER)}"}
        )
    assert response.json()["data"]["me"]["displayName"] == "Organiser of Alpha"
    assert "access-control-allow-origin" not in response.headers
