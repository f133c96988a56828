"""OnNotification over graphql-transport-ws, across two real API processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from tests.contract_ops import op
from tests.helpers import running_worker, start_api, stop_api

pytestmark = pytest.mark.slow
PROTOCOL = "graphql-transport-ws"


@pytest.fixture
def database_url(postgresql_url: str) -> str:
    """Two server processes share one database: PostgreSQL."""
    return postgresql_url


@pytest.fixture
async def two_apis(settings: Settings, tmp_path: Any) -> AsyncIterator[list[str]]:
    started = await asyncio.gather(*(start_api(settings, tmp_path) for _ in range(2)))
    yield [base.replace("http", "ws") + "/graphql" for _, base in started]
    for process, _ in started:
        await stop_api(process)


async def _subscribe(url: str, token: str) -> ClientConnection:
    ws = await connect(url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(
        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": op("OnNotification")}})
    )
    return ws


async def _next_notification(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
        if message["type"] == "next":
            payload: dict[str, Any] = message["payload"]["data"]["notificationReceived"]
            return payload


async def test_notification_reaches_clients_on_every_api_process(
    two_apis, make_org, services: Services, settings: Settings
):
    org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    clients = [await _subscribe(url, org.token(Role.ORGANISER)) for url in two_apis]
    bystander = await _subscribe(two_apis[0], org.token(Role.TRAINER))
    # Subscriptions register asynchronously on the server: give them a moment.
    await asyncio.sleep(0.5)

    async with running_worker(settings, services):
        async with services.db.session() as session:
            stage_notification(
                session,
                NotifySpec(
                    organisation_id=org.organisation.id,
                    user_ids=[organiser.id],
                    template="system",
                    event_key="live-1",
                    params={"title": "Doors tonight", "body": "Meet at 6"},
                ),
            )
            await session.commit()
        received = [await _next_notification(ws) for ws in clients]

    assert [r["title"] for r in received] == ["Doors tonight", "Doors tonight"]
    assert received[0]["id"] == received[1]["id"] and received[0]["kind"] == "SYSTEM"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bystander.recv(), timeout=0.5)
    for ws in [*clients, bystander]:
        await ws.close()


async def test_connection_without_a_valid_token_is_refused(two_apis):
    ws = await connect(two_apis[0], subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "nope"}}))
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def _until_done(ws: ClientConnection, operation: str, seconds: float) -> list[dict[str, Any]]:
    """The messages of one operation up to its complete (or error), within ``seconds``."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        while True:
            message = json.loads(await ws.recv())
            if message.get("id") != operation:
                continue
            messages.append(message)
            if message["type"] in ("complete", "error"):
                return messages


async def test_deactivation_ends_live_subscriptions_on_every_api_process(two_apis, make_org):
    org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    clients = [await _subscribe(url, org.token(Role.ORGANISER)) for url in two_apis]
    colleague = await _subscribe(two_apis[1], org.token(Role.TRAINER))
    await asyncio.sleep(0.5)

    async with httpx.AsyncClient() as http:
        response = await http.post(
            two_apis[0].replace("ws", "http", 1),
            json={
                "query": op("SetMemberActive"),
                "variables": {"id": str(organiser.id), "active": False},
            },
            headers={"Authorization": f"Bearer {org.token(Role.ADMIN)}"},
        )
    assert response.json()["data"]["setMemberActive"]["userErrors"] == []
    deactivated = asyncio.get_running_loop().time()

    for ws in clients:
        left = 5 - (asyncio.get_running_loop().time() - deactivated)
        messages = await _until_done(ws, "1", left)
        assert [m["type"] for m in messages] == ["next", "complete"]
        [error] = messages[0]["payload"]["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        # The connection's token is spent: a new subscription on it is refused too.
        await ws.send(
            json.dumps({"id": "2", "type": "subscribe", "payload": {"query": op("OnNotification")}})
        )
        messages = await _until_done(ws, "2", 5)
        codes = [
            e["extensions"]["code"]
            for m in messages
            for e in (m["payload"] if m["type"] == "error" else m["payload"].get("errors", []))
        ]
        assert codes == ["UNAUTHENTICATED"], messages
    # Someone else's subscription carries on.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(colleague.recv(), timeout=0.5)
    for ws in [*clients, colleague]:
        await ws.close()
