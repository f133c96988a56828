"""The machinery every fake HTTP provider shares: a real server and a script of faults.

Each fake is a Starlette app served by uvicorn on 127.0.0.1, on a port the OS picks, in
the running event loop. Use it as ``async with FakeX() as fake:`` or via the fixtures in
``tests.fakes.fixtures``.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute


class Service:
    """Something a test runs for a while: ``async with Fake() as fake:`` starts and stops it."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


@dataclass
class Fault:
    """One scripted answer: ``status`` None answers normally (after ``delay`` seconds)."""

    status: int | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def response(self) -> Response:
        if self.json is None:
            return Response(status_code=self.status or 500, headers=self.headers)
        return JSONResponse(self.json, status_code=self.status or 500, headers=self.headers)


class Script:
    """What the next requests get: ``fail_next(2, 429, retry_after=3)``, ``slow_next(1, 0.5)``,
    or ``latency`` added to every answer."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self.latency = 0.0

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        retry_after: str | float | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        all_headers = dict(headers or {})
        if retry_after is not None:
            all_headers["Retry-After"] = str(retry_after)
        for _ in range(count):
            self._queue.append(Fault(status, json, all_headers, delay))

    def slow_next(self, count: int, seconds: float) -> None:
        """The next ``count`` requests are answered normally, ``seconds`` late."""
        for _ in range(count):
            self._queue.append(Fault(None, delay=seconds))

    def clear(self) -> None:
        self._queue.clear()
        self.latency = 0.0

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def take(self) -> Response | None:
        """Wait as scripted; a response to give instead of the normal answer, or None."""
        fault = self._queue.popleft() if self._queue else None
        delay = self.latency + (fault.delay if fault else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is None or fault.status is None:
            return None
        return fault.response()


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def closed_port_url(scheme: str = "http") -> str:
    """A URL where nothing listens (connection refused), for network-error tests."""
    with free_socket() as sock:
        port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"


async def form_dict(request: Request) -> dict[str, str]:
    async with request.form() as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


class HttpFake(Service):
    """Base of the fake HTTP providers: subclasses give ``routes()``."""

    def __init__(self) -> None:
        self.script = Script()
        self.port = 0
        self._server: uvicorn.Server | None = None

    def routes(self) -> list[BaseRoute]:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = free_socket()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            Starlette(routes=self.routes()),
            lifespan="off",
            ws="none",
            log_config=None,
            access_log=False,
            timeout_keep_alive=30,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        # startup() without serve(): no signal handlers, no 0.1 s polling main loop.
        await server.startup(sockets=[sock])
        self._server = server

    async def stop(self, grace: float = 0.5) -> None:
        """Close the listener and idle connections; cancel requests still running after
        ``grace`` seconds (a scripted slow answer)."""
        server, self._server = self._server, None
        if server is None:
            return
        for listener in server.servers:
            listener.close()
        state = server.server_state
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        # uvicorn's server state offers no event to wait on.
        while (state.connections or state.tasks) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        for task in list(state.tasks):
            task.cancel()
        for connection in list(state.connections):
            if connection.transport is not None:
                connection.transport.close()
        for listener in server.servers:
            await listener.wait_closed()
