"""Test helpers shared by the worker, subscription and fault tests."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from server.accounts.models import Device, User
from server.db import Database
from server.enums import Platform, PushProvider, Role
from server.services import Services
from server.settings import Settings
from tests.fakes.server import Service, free_socket
from workers.main import build_worker
from workers.runtime import Runtime


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    """Wait (bounded) for something to happen; fails the test if it never does."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("it did not happen in time")


@asynccontextmanager
async def running_worker(settings: Settings, services: Services) -> AsyncIterator[Runtime]:
    """A real saq worker in this event loop, against the test's Redis and database."""
    worker = build_worker(settings, services)
    await worker.queue.connect()
    task = asyncio.create_task(worker.start())

    async def started() -> bool:
        return "runtime" in worker.context

    await eventually(started)
    try:
        yield worker.context["runtime"]
    finally:
        await worker.stop()
        await task
        await worker.queue.disconnect()


async def add_organisers(
    db: Database,
    organisation_id: uuid.UUID,
    count: int,
    *,
    phones: bool = True,
    password_hash: str | None = None,
    chunk: int = 1000,
) -> list[User]:
    """``count`` organisers of one organisation, each with one Expo device when ``phones``."""
    users: list[User] = []
    async with db.session() as session:
        for start in range(0, count, chunk):
            batch = [
                User(
                    organisation_id=organisation_id,
                    email=f"o{i}@{organisation_id}.test",
                    display_name=f"Organiser {i}",
                    role=Role.ORGANISER,
                    password_hash=password_hash,
                )
                for i in range(start, min(start + chunk, count))
            ]
            session.add_all(batch)
            await session.flush()
            if phones:
                session.add_all(
                    Device(
                        user_id=u.id,
                        platform=Platform.IOS,
                        provider=PushProvider.EXPO,
                        token=f"ExponentPushToken[{u.id}]",
                    )
                    for u in batch
                )
                await session.flush()
            users += batch
        await session.commit()
    return users


class ServeProcess(Service):
    """``doorstep serve`` as a subprocess on a free port, with its stderr kept in a file.

    Its environment is ``env`` over the caller's without any DOORSTEP_* setting; it runs in
    ``workdir``, so no .env file is read.
    """

    def __init__(self, workdir: Path, env: dict[str, str], *args: str) -> None:
        with free_socket() as sock:
            self.port: int = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
        self.env |= env
        self.args = ["--port", str(self.port), *args]
        self.stderr_path = workdir / f"serve-{self.port}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def start(self) -> None:
        with self.stderr_path.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                *self.args,
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )
        process = self.process

        async def up() -> bool:
            assert process.returncode is None, self.stderr
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{self.base_url}/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(up, seconds=30)

    async def stop(self) -> None:
        """SIGTERM, and wait: every line it logs is in ``stderr`` afterwards."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
