"""The operators' pages (the queue, the outbox): off by default, behind HTTP Basic auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.outbox.models import OutboxMessage
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


async def test_outbox_page_shows_counts_and_dead_rows(ops: Any, services: Services) -> None:
    now = utcnow()
    async with services.db.session() as session:
        dead = OutboxMessage(
            topic="notify",
            dedupe_key="ops:dead",
            dispatched_at=now,
            attempts=8,
            dead_at=now,
            last_error="RuntimeError: <b>boom</b>",
        )
        session.add_all([dead, OutboxMessage(topic="notify", dedupe_key="ops:pending")])
        await session.commit()
    assert (await ops.get("/ops/outbox")).status_code == 401
    assert (await ops.get("/ops/outbox", auth=("ops", "guess"))).status_code == 401
    page = await ops.get("/ops/outbox", auth=("ops", "operator-secret"))
    assert page.status_code == 200 and "html" in page.headers["content-type"]
    text = page.text
    assert "<th>pending</th><td>1</td>" in text and "<th>dead</th><td>1</td>" in text
    assert str(dead.id) in text and "<td>8</td>" in text
    assert "RuntimeError: &lt;b&gt;boom&lt;/b&gt;" in text  # escaped, not markup
    assert now.strftime("%Y-%m-%d %H:%M:%S UTC") in text


async def test_outbox_page_is_absent_without_a_password(settings, services) -> None:
    async for client in _client(settings, services):
        assert (await client.get("/ops/outbox", auth=("ops", ""))).status_code == 404
