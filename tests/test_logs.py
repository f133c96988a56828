"""Logs: DOORSTEP_LOG_LEVEL and DOORSTEP_LOG_FORMAT, their context, and no personal data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import col

from server.core.enums import Role
from server.core.logs import build_handler, redact
from server.core.services import Services
from server.core.settings import Settings
from server.outbox.models import OutboxMessage
from tests.conftest import REDIS_URL, SECRET, GraphQLClient, Org
from tests.helpers import eventually, running_worker
from tests.serve import ServeProcess

ME = "query Me { me { id displayName email } }"


def serve_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "DOORSTEP_DATABASE_URL": settings.database_url,
        "DOORSTEP_REDIS_URL": REDIS_URL,
        "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
        "DOORSTEP_SECRET_KEY": SECRET,
        "DOORSTEP_VAR_DIR": str(settings.var_dir),
        **extra,
    }


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed as JSON: a line that is not JSON fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def graphql(
    base_url: str, query: str, operation: str | None, token: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = {"query": query, "variables": variables}
    if operation:
        body["operationName"] = operation
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert not response.json().get("errors"), response.text
    return response


# --- doorstep serve ---------------------------------------------------------------------


@pytest.mark.slow
async def test_serve_writes_json_lines_with_request_operation_and_user(
    settings: Settings, make_org: Any, tmp_path: Path
) -> None:
    org: Org = await make_org()
    admin = org.members[Role.ADMIN]
    async with ServeProcess(tmp_path, serve_env(settings, DOORSTEP_LOG_FORMAT="json")) as api:
        me = await graphql(api.base_url, ME, "Me", org.token(Role.ADMIN))
        # No operationName sent: the name comes from the document.
        anonymous = await graphql(api.base_url, "query Ping { __typename }", None)
        async with httpx.AsyncClient(base_url=api.base_url) as client:
            page = await client.get("/set-password?token=a-secret-token-from-an-email")
    lines = json_lines(api.stderr)

    access = {line["request_id"]: line for line in lines if line["logger"] == "uvicorn.access"}
    line = access[me.headers["x-request-id"]]
    assert line["level"] == "INFO"
    assert line["message"] == '"POST /graphql HTTP/1.1" 200'
    assert line["operation"] == "Me"
    assert line["user_id"] == str(admin.id)
    assert line["timestamp"].startswith("20")
    line = access[anonymous.headers["x-request-id"]]
    assert line["operation"] == "Ping"
    assert "user_id" not in line
    line = access[page.headers["x-request-id"]]
    assert line["message"] == '"GET /set-password HTTP/1.1" 200'
    assert "operation" not in line and "user_id" not in line

    assert any(line["message"].startswith("Uvicorn running on") for line in lines)
    text = api.stderr
    assert "a-secret-token-from-an-email" not in text  # no query strings
    assert "127.0.0.1:" not in text.replace(api.base_url, "")  # no client addresses
    assert admin.email not in text
    assert admin.display_name not in text
    assert "displayName" not in text  # no GraphQL documents


@pytest.mark.slow
async def test_serve_at_warning_logs_no_info_lines(
    settings: Settings, make_org: Any, tmp_path: Path
) -> None:
    org: Org = await make_org()
    env = serve_env(settings, DOORSTEP_LOG_FORMAT="json", DOORSTEP_LOG_LEVEL="warning")
    async with ServeProcess(tmp_path, env) as api:
        await graphql(api.base_url, ME, "Me", org.token(Role.ADMIN))
    levels = [line["level"] for line in json_lines(api.stderr)]
    assert "INFO" not in levels
    assert set(levels) <= {"WARNING", "ERROR", "CRITICAL"}


@pytest.mark.slow
async def test_serve_writes_text_lines_by_default(
    settings: Settings, make_org: Any, tmp_path: Path
) -> None:
    org: Org = await make_org()
    admin = org.members[Role.ADMIN]
    async with ServeProcess(tmp_path, serve_env(settings)) as api:
        me = await graphql(api.base_url, ME, "Me", org.token(Role.ADMIN))
    rid = me.headers["x-request-id"]
    [line] = [ln for ln in api.stderr.splitlines() if rid in ln and "uvicorn.access" in ln]
    assert f" INFO uvicorn.access [{rid} operation=Me user_id={admin.id}] " in line
    assert line.endswith('"POST /graphql HTTP/1.1" 200')


@pytest.mark.slow
async def test_emailed_links_follow_the_port_of_serve(
    settings: Settings, make_org: Any, services: Services, tmp_path: Path
) -> None:
    """`doorstep serve --port P` without DOORSTEP_PUBLIC_URL: reset links point at P."""
    org: Org = await make_org()
    admin = org.members[Role.ADMIN]
    async with ServeProcess(tmp_path, serve_env(settings)) as api:
        await graphql(
            api.base_url,
            "mutation Reset($email: String!) { requestPasswordReset(email: $email) { ok } }",
            "Reset",
            email=admin.email,
        )
    async with services.db.session() as session:
        row = await session.scalar(
            sa.select(OutboxMessage).where(col(OutboxMessage.topic) == "email.account")
        )
    assert row is not None
    assert row.payload["link"].startswith(f"http://127.0.0.1:{api.port}/set-password?token=")


# --- a worker ---------------------------------------------------------------------------


@pytest.fixture
def json_log(settings: Settings) -> Iterator[io.StringIO]:
    """What the JSON handler of a `doorstep worker` would write, from this process."""
    stream = io.StringIO()
    handler = build_handler(settings.model_copy(update={"log_format": "json"}), stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_worker_lines_carry_the_job_and_the_outbox_row(
    gql: GraphQLClient,
    make_org: Any,
    settings: Settings,
    services: Services,
    json_log: io.StringIO,
) -> None:
    org: Org = await make_org()
    member = org.members[Role.ORGANISER]
    data = await gql.op("RequestPasswordReset", {"email": member.email})
    assert data == {"requestPasswordReset": {"ok": True}}
    async with services.db.session() as session:
        row = await session.scalar(sa.select(OutboxMessage))
    assert row is not None

    def lines() -> list[dict[str, Any]]:
        return json_lines(json_log.getvalue())

    async def emailed() -> bool:
        return any(line["logger"] == "workers.channels.log" for line in lines())

    async with running_worker(settings, services):
        await eventually(emailed)

    [handled] = [line for line in lines() if line["logger"] == "server.accounts.emails"]
    assert handled["message"].startswith("account email password_reset for user ")
    assert handled["job"] == "handle_outbox"
    assert handled["job_id"] == f"outbox:{row.id}"
    assert handled["outbox_id"] == str(row.id)
    assert "request_id" not in handled
    # saq's own line about the job, in the task that took it, carries the same.
    [taken] = [
        line
        for line in lines()
        if line["logger"] == "saq"
        and line["message"].startswith("Processing")
        and line.get("outbox_id") == str(row.id)
    ]
    assert taken["job"] == "handle_outbox"
    assert taken["job_id"] == f"outbox:{row.id}"
    [sent] = [line for line in lines() if line["logger"] == "workers.channels.log"]
    assert sent["job"] == "dispatch"
    assert "outbox_id" not in sent  # one job's context does not leak into the next
    assert "to=[email]" in sent["message"]
    assert member.email not in json_log.getvalue()


# --- redaction and settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "to=resident.one+tag@example.co.uk",
        "Doorstep <no-reply@doorstep.local>",
        "sms to=+447700900123",
        "call +44 7700 900123 now",
        "call 07700 900123 now",
        "landline (020) 7946 0958",
        "tel:+14155552671",
    ],
)
def test_redaction_hides_emails_and_phones(text: str) -> None:
    redacted = redact(text)
    assert "@" not in redacted
    assert not any(run in redacted for run in ("7700", "900123", "7946", "5552671"))
    assert "[email]" in redacted or "[phone]" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-02 07:58:00,123 INFO uvicorn.access",
        "2026-12-02T07:58:00.123456+00:00",
        "Uvicorn running on http://127.0.0.1:8123 (Press CTRL+C to quit)",
        "delivery 0b7c2a10-1234-4567-8901-123456789012 job 7d2e4c0a9b8f4e1d0123456789abcdef",
        "relayed 1200 rows in 0.0123456789 s, epoch 1733126280",
    ],
)
def test_redaction_keeps_what_operators_need(text: str) -> None:
    assert redact(text) == text


def test_log_settings() -> None:
    base: dict[str, Any] = {"_env_file": None}
    assert Settings(**base).log_level == "INFO"
    assert Settings(**base).log_format == "text"
    assert Settings(**base, log_level="warning", log_format="JSON").log_level == "WARNING"
    assert Settings(**base, log_format="JSON").log_format == "json"
    with pytest.raises(ValidationError, match="log_format"):
        Settings(**base, log_format="xml")
    with pytest.raises(ValidationError, match="log_level"):
        Settings(**base, log_level="LOUD")
