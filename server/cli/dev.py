"""``doorstep dev``: a working Doorstep on a laptop in one command.

Migrates the database, seeds the demo organisation once, starts a private Redis (unless
``DOORSTEP_REDIS_URL`` is set), then runs the API and one worker as child processes until
Ctrl-C or SIGTERM. If a child dies, the others are stopped and the exit status is 1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import FrameType

import httpx

from server.cli.demo import seed_demo
from server.cli.devredis import DevRedis, DevRedisError
from server.cli.migrate import upgrade
from server.core.logs import configure_logging
from server.core.settings import Settings, browser_host, get_settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A child gets this long to stop, beyond the grace the worker gives its running jobs
# (DOORSTEP_WORKER_SHUTDOWN_GRACE_SECONDS), before it is killed.
STOP_MARGIN_SECONDS = 5.0
POLL_SECONDS = 0.2


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def spawn(name: str, args: list[str], env: dict[str, str]) -> Child:
    """Run ``doorstep <args>`` with this interpreter, in a process group of its own.

    Its own group keeps a terminal's Ctrl-C away from it: `doorstep dev` stops its children
    itself, in order.
    """
    command = [sys.executable, "-m", "server.cli.main", *args]
    return Child(name, subprocess.Popen(command, env=env, process_group=0))  # noqa: S603


def stop_all(children: list[Child], timeout: float) -> None:
    """SIGTERM every child still running, wait for them together, kill the late ones."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{child.name} did not stop within {timeout:.0f}s: killing it", flush=True)
            child.process.kill()
            child.process.wait()


def is_up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def trap_stop_signals(received: list[int]) -> Iterator[None]:
    """Record stop signals instead of dying of them, until the children are stopped."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def supervise(children: list[Child], received: list[int], base_url: str, redis_url: str) -> int:
    """Wait for a stop signal (0) or a child's death (1); the caller stops the children."""
    announced = False
    while not received:
        for child in children:
            code = child.process.poll()
            if code is not None:
                print(f"\n{child.name} exited with status {code}: stopping", flush=True)
                return 1
        if not announced and is_up(f"{base_url}/healthz"):
            announced = True
            print(
                f"\nDoorstep is running.\n"
                f"  GraphiQL  {base_url}/graphql\n"
                f"  Redis     {redis_url}\n"
                "Sign in with a demo login above (mutation Login), then send\n"
                '"Authorization: Bearer <accessToken>". Press Ctrl-C to stop.\n',
                flush=True,
            )
        time.sleep(POLL_SECONDS)
    print(f"\n{signal.Signals(received[0]).name}: stopping", flush=True)
    return 0


def run_dev() -> int:
    settings = get_settings()
    configure_logging(settings)
    try:
        asyncio.run(upgrade(settings.database_url))
        asyncio.run(seed_demo(settings))
    except KeyboardInterrupt:
        return 130
    settings.signing_key()  # made once here, so the children cannot race to make it
    try:
        status = run_children(settings)
    except DevRedisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("Doorstep stopped.", flush=True)
    return status


def run_children(settings: Settings) -> int:
    """Redis (unless configured), the API and a worker, until a signal or a child's death."""
    redis_url = settings.effective_redis_url
    received: list[int] = []
    # Exits run in reverse: the children stop, then Redis, then signals act normally again.
    with ExitStack() as stack:
        stack.enter_context(trap_stop_signals(received))
        if settings.redis_url is None:
            stack.enter_context(DevRedis(settings))
        env = {
            **os.environ,
            "DOORSTEP_REDIS_URL": redis_url,
            "DOORSTEP_HOST": settings.host,
            "DOORSTEP_PORT": str(settings.port),
        }
        children: list[Child] = []
        stack.callback(
            stop_all, children, settings.worker_shutdown_grace_seconds + STOP_MARGIN_SECONDS
        )
        children.append(spawn("API", ["serve"], env))
        children.append(spawn("worker", ["worker"], env))
        base_url = f"http://{browser_host(settings.host)}:{settings.port}"
        return supervise(children, received, base_url, redis_url)
