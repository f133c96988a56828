"""The operators' queue view: off by default, behind HTTP Basic auth when on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.core.services import Services
from server.core.settings import Settings
from server.web.app import create_app


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def _client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def ops(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    on = settings.model_copy(update={"ops_password": "operator-secret"})
    async for client in _client(on, services):
        yield client


async def test_queue_view_needs_the_operator_password(ops: Any) -> None:
    assert (await ops.get("/ops/queue/")).status_code == 401
    wrong = await ops.get("/ops/queue/", auth=("ops", "guess"))
    assert wrong.status_code == 401
    page = await ops.get("/ops/queue/", auth=("ops", "operator-secret"))
    assert page.status_code == 200 and "html" in page.headers["content-type"]
    queues = await ops.get("/ops/queue/api/queues", auth=("ops", "operator-secret"))
    assert queues.status_code == 200
    names = [q["name"] for q in queues.json()["queues"]]
    assert names and names[0].endswith("doorstep")


async def test_queue_view_is_absent_without_a_password(settings, services) -> None:
    async for client in _client(settings, services):
        assert (await client.get("/ops/queue/", auth=("ops", ""))).status_code == 404
