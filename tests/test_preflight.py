"""A production deployment that is half configured refuses to start, and says why.

Each case runs the real `doorstep` command in a child process, with the settings in its
environment, as systemd starts it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from server.core.enums import ChannelName
from server.core.preflight import production_problems
from server.core.settings import Settings
from tests.conftest import PG_ADMIN_URL, REDIS_URL, _asyncpg_dsn
from tests.fakes import vapid_key_pair
from tests.test_dev import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOORSTEP = str(Path(sys.executable).with_name("doorstep"))
COMMANDS = (["serve"], ["worker"], ["migrate"])


def production_env(**changes: str | None) -> dict[str, str]:
    """A complete production configuration, with ``changes`` (None removes a setting)."""
    env: dict[str, str | None] = {
        "DOORSTEP_ENV": "production",
        "DOORSTEP_SECRET_KEY": "s" * 48,
        "DOORSTEP_DATABASE_URL": "postgresql+asyncpg://doorstep@127.0.0.1:5432/doorstep",
        "DOORSTEP_REDIS_URL": REDIS_URL,
        "DOORSTEP_REDIS_PREFIX": f"doorstep-test:{uuid.uuid4().hex}:",
        "DOORSTEP_PUBLIC_URL": "https://doorstep.example.org",
        "DOORSTEP_SMTP_URL": "smtps://mailer:secret@smtp.example.org:465",
        "DOORSTEP_FCM_PROJECT_ID": "doorstep-test",
        "DOORSTEP_FCM_ACCESS_TOKEN": "ya29.test",
        "DOORSTEP_WEBPUSH_VAPID_PRIVATE_KEY": vapid_key_pair()[0],
        "DOORSTEP_TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
        "DOORSTEP_TWILIO_AUTH_TOKEN": "twilio-auth-token",
        "DOORSTEP_TWILIO_FROM_NUMBER": "+15005550006",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def child_env(settings: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env | settings


def doorstep(
    args: list[str], settings: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOORSTEP, *args],
        env=child_env(settings),
        cwd=cwd,  # no .env here
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with one clear message and no traceback; returns the message."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "refuses to start in production" in result.stderr
    return result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_problem_is_named_at_once(command: list[str], tmp_path: Path) -> None:
    settings = production_env(
        DOORSTEP_SECRET_KEY="short",
        DOORSTEP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/doorstep.db",
        DOORSTEP_PUBLIC_URL="http://doorstep.example.org",
        DOORSTEP_DELIVERY="sms-only",
    )
    message = refused(doorstep(command, settings, tmp_path))
    lines = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(lines) == 4, message
    for name in (
        "DOORSTEP_SECRET_KEY",
        "DOORSTEP_DATABASE_URL",
        "DOORSTEP_PUBLIC_URL",
        "DOORSTEP_DELIVERY",
    ):
        assert sum(name in line for line in lines) == 1, (name, message)
    assert not (tmp_path / "doorstep.db").exists()  # migrate did nothing


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"DOORSTEP_SECRET_KEY": None}, ["DOORSTEP_SECRET_KEY"]),
        (
            {"DOORSTEP_DATABASE_URL": "sqlite+aiosqlite:///var/doorstep.db"},
            ["DOORSTEP_ALLOW_SQLITE"],
        ),
        ({"DOORSTEP_DATABASE_URL": "not a url"}, ["DOORSTEP_DATABASE_URL"]),
        ({"DOORSTEP_PUBLIC_URL": None}, ["DOORSTEP_PUBLIC_URL", "not https"]),
        (
            {"DOORSTEP_PUBLIC_URL": "https://127.0.0.1:8443"},
            ["DOORSTEP_PUBLIC_URL", "this machine"],
        ),
        ({"DOORSTEP_PUBLIC_URL": "https://localhost"}, ["DOORSTEP_PUBLIC_URL", "this machine"]),
        ({"DOORSTEP_PUBLIC_URL": "https://[::1]/"}, ["DOORSTEP_PUBLIC_URL", "this machine"]),
        ({"DOORSTEP_DELIVERY": "LIVE"}, ["DOORSTEP_DELIVERY"]),
        ({"DOORSTEP_SMTP_URL": None}, ["DOORSTEP_CHANNELS includes EMAIL", "DOORSTEP_SMTP_URL"]),
        (
            {"DOORSTEP_TWILIO_AUTH_TOKEN": None, "DOORSTEP_TWILIO_FROM_NUMBER": None},
            ["SMS", "DOORSTEP_TWILIO_AUTH_TOKEN", "DOORSTEP_TWILIO_FROM_NUMBER"],
        ),
        ({"DOORSTEP_FCM_ACCESS_TOKEN": None}, ["FCM", "DOORSTEP_FCM_CREDENTIALS_FILE"]),
        ({"DOORSTEP_FCM_PROJECT_ID": None}, ["FCM", "DOORSTEP_FCM_PROJECT_ID"]),
        (
            {"DOORSTEP_FCM_CREDENTIALS_FILE": "/nonexistent/key.json"},
            ["DOORSTEP_FCM_CREDENTIALS_FILE", "/nonexistent/key.json"],
        ),
        ({"DOORSTEP_WEBPUSH_VAPID_PRIVATE_KEY": None}, ["DOORSTEP_WEBPUSH_VAPID_PRIVATE_KEY"]),
        (
            # Only the channels a deployment lists need their provider, named in any case.
            {"DOORSTEP_CHANNELS": '["email", "Sms"]', "DOORSTEP_SMTP_URL": None},
            ["EMAIL", "DOORSTEP_SMTP_URL"],
        ),
    ],
)
def test_each_problem_refuses_start_up(
    changes: dict[str, str | None], named: list[str], tmp_path: Path
) -> None:
    message = refused(doorstep(["migrate"], production_env(**changes), tmp_path))
    [line] = [line for line in message.splitlines() if line.startswith("  - ")]
    for part in named:
        assert part in line, (part, message)


def test_the_channels_of_a_deployment_are_checked_and_no_others() -> None:
    """Without Twilio settings SMS is refused, unless SMS is left out of DOORSTEP_CHANNELS."""
    no_sms = {"DOORSTEP_TWILIO_ACCOUNT_SID": None, "DOORSTEP_TWILIO_AUTH_TOKEN": None}
    assert production_problems(settings_of(production_env(**no_sms)))
    listed = production_env(**no_sms, DOORSTEP_CHANNELS='["EMAIL","EXPO","FCM","WEBPUSH"]')
    assert production_problems(settings_of(listed)) == []


def test_a_bad_setting_value_is_named_without_a_traceback(tmp_path: Path) -> None:
    for value in ('["EMAIL","PIGEON"]', "EMAIL"):
        result = doorstep(["serve"], production_env(DOORSTEP_CHANNELS=value), tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "DOORSTEP_CHANNELS" in result.stderr.upper(), result.stderr


@pytest.mark.parametrize(
    "changes",
    [
        {"DOORSTEP_DELIVERY": "log", "DOORSTEP_SMTP_URL": None, "DOORSTEP_FCM_PROJECT_ID": None},
        {"DOORSTEP_ALLOW_HTTP": "true", "DOORSTEP_PUBLIC_URL": "http://127.0.0.1:8000"},
        {"DOORSTEP_ALLOW_SQLITE": "true", "DOORSTEP_DATABASE_URL": "sqlite+aiosqlite:///x.db"},
    ],
)
def test_deliberate_choices_pass(changes: dict[str, str]) -> None:
    assert production_problems(settings_of(production_env(**changes))) == []


def test_development_is_never_refused(tmp_path: Path) -> None:
    assert production_problems(Settings(_env_file=None)) == []  # type: ignore[call-arg]
    result = doorstep(
        ["migrate"], {"DOORSTEP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/d.db"}, tmp_path
    )
    assert result.returncode == 0, result.stderr


def settings_of(env: dict[str, str]) -> Settings:
    """The Settings that ``env`` gives, read the way the commands read them."""
    os_env = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update(env)
        return Settings(_env_file=None)  # type: ignore[call-arg]
    finally:
        os.environ.clear()
        os.environ.update(os_env)


# --- A complete production configuration starts ---------------------------------------


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    admin = make_url(PG_ADMIN_URL)
    name = f"doorstep_preflight_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(admin))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_complete_production_configuration_migrates_serves_and_works(
    fresh_database: str, tmp_path: Path
) -> None:
    settings = production_env(DOORSTEP_DATABASE_URL=fresh_database)
    assert production_problems(settings_of(settings)) == []
    assert {c.value for c in settings_of(settings).channels} == set(ChannelName)

    migrated = doorstep(["migrate"], settings, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "database migrated to head" in migrated.stdout

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        serve = subprocess.Popen(
            [DOORSTEP, "serve", "--port", str(port)],
            env=child_env(settings),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as out:
        worker = subprocess.Popen(
            [DOORSTEP, "worker"],
            env=child_env(settings),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        ready = wait_for(
            lambda: readyz(port) == 200 and "Worker starting" in worker_log.read_text(),
            (serve, worker),
        )
        assert ready, log.read_text() + worker_log.read_text()
    finally:
        for process in (serve, worker):
            process.send_signal(signal.SIGTERM)
        for process in (serve, worker):
            process.wait(30)
    assert "Traceback" not in log.read_text() + worker_log.read_text()


def readyz(port: int) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
    except httpx.HTTPError:
        return None


def wait_for(check: Callable[[], bool], processes: tuple[subprocess.Popen[bytes], ...]) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return False
        if check():
            return True
        time.sleep(0.1)
    return False
