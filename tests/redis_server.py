"""A private redis-server on a free TCP port, for tests and benchmarks that stop Redis.

Never the machine's Redis: outage tests stop this one and start it again on the same port.
Nothing is persisted (no RDB, no AOF), so a restart comes back empty, like a lost Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from server.cli.devredis import redis_server_executable
from tests.fakes.server import Service, free_socket

START_TIMEOUT = 10.0


def free_port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
    return port


class RedisServer(Service):
    """``async with RedisServer() as redis:`` then ``redis.url``; ``stop()``/``start()``
    to take it away and bring it back on the same port."""

    def __init__(self, port: int | None = None, *, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        if self.running:
            return
        args = [
            *("--port", str(self.port)),
            *("--bind", "127.0.0.1"),
            *("--save", ""),
            *("--appendonly", "no"),
            *("--logfile", str(self.log_file) if self.log_file else ""),
        ]
        self._process = await asyncio.create_subprocess_exec(
            redis_server_executable(),
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        client = Redis.from_url(self.url, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + START_TIMEOUT
            while loop.time() < deadline:
                if not self.running:
                    raise RuntimeError(f"redis-server on port {self.port} exited at start")
                with contextlib.suppress(RedisError, OSError):
                    if await client.ping():
                        return
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        await self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer in time")

    async def stop(self) -> None:
        """Stop the server (SIGTERM: it exits without saving, as configured)."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), START_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
