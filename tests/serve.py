"""``doorstep serve`` in a process of its own, for tests that need the real command."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from tests.fakes.server import Service, free_socket
from tests.helpers import eventually


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
                "server.cli.main",
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
