"""The servers under test: uvicorn, one worker process, uvloop, httptools, no access log,
pinned to the server's core."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import psutil

from bench.notifications import BenchError
from tests.redis_server import free_port

SERVER_CORE = "0"
ROOT = Path(__file__).resolve().parents[2]
APPS = {
    "doorstep": "server.web.app:create_app",
    "starlette": "bench.http.anchors:starlette_app",
    "strawberry": "bench.http.anchors:strawberry_app",
}


class Server:
    """``taskset -c 0 python -m uvicorn APP --factory ...`` on a free port.

    Runs in ``work_dir`` (so no .env is read) with the caller's environment less every
    DOORSTEP_* variable, plus ``env``.
    """

    def __init__(self, name: str, work_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.work_dir = work_dir
        self.log = work_dir / f"{name}.log"
        pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
        self.env |= {"PYTHONPATH": pythonpath, **env}
        self.process: asyncio.subprocess.Process | None = None

    @property
    def command(self) -> list[str]:
        return [
            "taskset", "-c", SERVER_CORE, sys.executable, "-m", "uvicorn", APPS[self.name],
            "--factory", "--host", "127.0.0.1", "--port", str(self.port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--no-proxy-headers", "--log-level", "warning",
        ]  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_mib(self) -> float:
        """The server's resident memory (taskset execs uvicorn: same process)."""
        return float(psutil.Process(self.pid).memory_info().rss) / 2**20

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                cwd=self.work_dir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                if self.process.returncode is not None:
                    raise BenchError(f"the {self.name} server exited; see {self.log}")
                try:
                    if (await client.get(f"{self.base_url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise BenchError(f"the {self.name} server did not answer in 30 s; see {self.log}")

    def check_alive(self) -> None:
        if self.process is None or self.process.returncode is not None:
            raise BenchError(f"the {self.name} server is not running; see {self.log}")

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
