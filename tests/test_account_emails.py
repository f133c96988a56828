"""Invitation and password-reset emails, end to end: mutation -> outbox -> worker -> SMTP."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.notifications.models import ChannelName, Delivery, DeliveryStatus, Notification
from server.outbox.models import OutboxMessage
from tests.fakes.smtp import FakeSmtp
from tests.helpers import eventually, running_worker

LINK = re.compile(r"http://doorstep\.test/set-password\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
async def smtp() -> AsyncIterator[FakeSmtp]:
    async with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, smtp: FakeSmtp) -> Settings:
    return settings.model_copy(
        update={"delivery": "live", "relay_interval_seconds": 0.05, **smtp.settings()}
    )


async def _mail_to(smtp: FakeSmtp, address: str) -> str:
    async def arrived() -> bool:
        return any(address in m.rcpt_tos for m in smtp.received)

    await eventually(arrived)
    mail = next(m for m in smtp.received if address in m.rcpt_tos)
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(mail.message["Subject"]) + "\n" + body.get_content()


async def test_invited_member_gets_a_working_link_once(gql, make_org, smtp, settings, services):
    org = await make_org("Alpha")
    async with running_worker(settings, services):
        invited = await gql.op(
            "InviteMember",
            {"input": {"email": "new@alpha.test", "displayName": "Nia New", "role": "ORGANISER"}},
            token=org.token(Role.ADMIN),
        )
        assert invited["inviteMember"]["userErrors"] == []
        text = await _mail_to(smtp, "new@alpha.test")

        async def scrubbed() -> bool:
            async with services.db.session() as session:
                stored = await session.scalar(sa.select(Notification))
                return stored is not None and stored.link is None and "token=" not in stored.body

        await eventually(scrubbed)
    assert "You're invited to Alpha on Doorstep" in text
    match = LINK.search(text)
    assert match, text
    done = await gql.op(
        "SetPassword", {"input": {"token": match.group(1), "password": "a long new password"}}
    )
    assert done["setPassword"]["user"]["displayName"] == "Nia New"
    assert len([m for m in smtp.received if "new@alpha.test" in m.rcpt_tos]) == 1
    # Once sent, the one-time link is kept nowhere in the database.
    async with services.db.session() as session:
        stored = await session.scalar(sa.select(Notification))
        outbox = (await session.scalars(sa.select(OutboxMessage))).all()
    assert stored is not None and match.group(1) not in stored.body
    assert all(match.group(1) not in str(row.payload) for row in outbox)
    # Account emails are not in-app notifications.
    listed = await gql.op("MyNotifications", token=done["setPassword"]["session"]["accessToken"])
    assert listed["notifications"]["edges"] == []


async def test_password_reset_email_arrives_even_with_email_turned_off(
    gql, make_org, smtp, settings, services: Services
):
    org = await make_org("Alpha")
    await gql.op(
        "UpdateNotificationPreferences",
        {"input": {"emailEnabled": False}},
        token=org.token(Role.ORGANISER),
    )
    async with running_worker(settings, services):
        await gql.op("RequestPasswordReset", {"email": "organiser@alpha.test"})
        await gql.op("RequestPasswordReset", {"email": "nobody@alpha.test"})
        text = await _mail_to(smtp, "organiser@alpha.test")
    assert "Reset your Doorstep password" in text and LINK.search(text)
    assert [m.rcpt_tos for m in smtp.received] == [["organiser@alpha.test"]]


async def test_the_emailed_link_opens_a_page_that_sets_the_password(gql, make_org, services):
    org = await make_org("Alpha")
    await gql.op("RequestPasswordReset", {"email": "trainer@alpha.test"})
    async with services.db.session() as session:
        row = await session.scalar(sa.select(OutboxMessage))
    assert row is not None
    match = LINK.search(row.payload["link"])
    assert match
    path = f"/set-password?token={match.group(1)}"
    page = await gql.http.get(path)
    assert page.status_code == 200 and 'name="password"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    short = await gql.http.post("/set-password", data={"token": match.group(1), "password": "x"})
    assert short.status_code == 400 and "at least 10 characters" in short.text
    done = await gql.http.post(
        "/set-password", data={"token": match.group(1), "password": "a fine new password"}
    )
    assert done.status_code == 200 and "Your password is set" in done.text
    again = await gql.http.post(
        "/set-password", data={"token": match.group(1), "password": "another password"}
    )
    assert again.status_code == 400 and "expired or was already used" in again.text
    login = await gql.op(
        "Login", {"email": "trainer@alpha.test", "password": "a fine new password"}
    )
    assert login["login"]["user"]["id"] == str(org.members[Role.TRAINER].id)


def test_the_public_url_follows_the_port_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOORSTEP_PUBLIC_URL", raising=False)
    monkeypatch.delenv("DOORSTEP_HOST", raising=False)
    monkeypatch.setenv("DOORSTEP_PORT", "8123")
    assert Settings(_env_file=None).public_url == "http://127.0.0.1:8123"  # type: ignore[call-arg]
    monkeypatch.setenv("DOORSTEP_HOST", "0.0.0.0")  # noqa: S104  (a setting, not a bind)
    assert Settings(_env_file=None).public_url == "http://127.0.0.1:8123"  # type: ignore[call-arg]
    monkeypatch.setenv("DOORSTEP_HOST", "::1")
    assert Settings(_env_file=None).public_url == "http://[::1]:8123"  # type: ignore[call-arg]
    monkeypatch.setenv("DOORSTEP_PUBLIC_URL", "https://doorstep.example.org")
    assert Settings(_env_file=None).public_url == "https://doorstep.example.org"  # type: ignore[call-arg]


class TestOnAnotherPort:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        """Served on port 8123, with no DOORSTEP_PUBLIC_URL."""
        fields = settings.model_dump(exclude={"public_url"})
        return Settings(_env_file=None, **{**fields, "port": 8123})  # type: ignore[call-arg]

    async def test_the_emailed_link_points_at_the_port_served(
        self, gql, make_org, smtp, settings, services: Services
    ):
        await make_org("Alpha")
        async with running_worker(settings, services):
            await gql.op("RequestPasswordReset", {"email": "organiser@alpha.test"})
            text = await _mail_to(smtp, "organiser@alpha.test")
        assert "http://127.0.0.1:8123/set-password?token=" in text, text


# --- Never a one-time link in a log, never "sent" when it was not -------------------------

FAILURES = "{ deliveryFailures { edges { node { channel status attempts lastError } } } }"
ANY_TOKEN = re.compile(r"token=(?!\[redacted\])[^\s&'\"]+")


async def _reset_link_staged(gql: Any, services: Services, email: str) -> str:
    """Ask for a reset before any worker runs; returns the one-time token it carries."""
    await gql.op("RequestPasswordReset", {"email": email})
    async with services.db.session() as session:
        row = await session.scalar(sa.select(OutboxMessage))
    assert row is not None
    match = LINK.search(row.payload["link"])
    assert match
    return match.group(1)


async def _settled(services: Services) -> Delivery:
    async def final() -> bool:
        async with services.db.session() as session:
            row = await session.scalar(sa.select(Delivery))
        return row is not None and row.status not in (DeliveryStatus.PENDING, "SENDING")

    await eventually(final)
    async with services.db.session() as session:
        row = await session.scalar(sa.select(Delivery))
    assert row is not None
    return row


def _assert_not_logged(caplog: pytest.LogCaptureFixture, token: str) -> None:
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in text
    assert not ANY_TOKEN.search(text), text


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # Live, with the fake SMTP server there, but EMAIL is not one of the channels.
        (
            {"channels": [ChannelName.EXPO]},
            "EMAIL is not enabled on this deployment (DOORSTEP_CHANNELS)",
        ),
        # Live without an SMTP URL: once quietly logged, link and all, and marked SENT.
        ({"smtp_url": None}, "EMAIL is not configured: set DOORSTEP_SMTP_URL"),
    ],
    ids=["left-out", "unconfigured"],
)
async def test_an_email_that_cannot_go_is_dead_with_its_reason_never_logged_or_sent(
    gql: Any,
    make_org: Any,
    smtp: FakeSmtp,
    settings: Settings,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
    reason: str,
) -> None:
    org = await make_org("Alpha")
    token = await _reset_link_staged(gql, services, "organiser@alpha.test")
    caplog.set_level(logging.INFO)  # what a deployment logs (configure_logging)
    async with running_worker(settings.model_copy(update=changes), services):
        delivery = await _settled(services)

    assert (delivery.channel, delivery.status) == (ChannelName.EMAIL, DeliveryStatus.DEAD)
    assert delivery.sent_at is None and delivery.last_error == reason
    assert smtp.received == []
    _assert_not_logged(caplog, token)
    # Admins see what did not get through, and why.
    data = await gql(FAILURES, token=org.token(Role.ADMIN))
    assert [e["node"] for e in data["deliveryFailures"]["edges"]] == [
        {"channel": "EMAIL", "status": "DEAD", "attempts": 1, "lastError": reason}
    ]
    # The link it held is kept nowhere once nothing will send it.
    async with services.db.session() as session:
        stored = await session.scalar(sa.select(Notification))
    assert stored is not None and token not in stored.body and stored.link is None


async def test_a_password_reset_through_the_log_channel_logs_no_token(
    gql: Any,
    make_org: Any,
    settings: Settings,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_org("Alpha")
    token = await _reset_link_staged(gql, services, "organiser@alpha.test")
    caplog.set_level(logging.INFO)  # what a deployment logs (configure_logging)
    async with running_worker(settings.model_copy(update={"delivery": "log"}), services):
        delivery = await _settled(services)

    assert delivery.status is DeliveryStatus.SENT
    [line] = [r.getMessage() for r in caplog.records if r.name == "workers.channels.log"]
    assert "EMAIL (not sent, delivery is 'log')" in line
    assert "Reset your Doorstep password" in line
    assert "http://doorstep.test/set-password?token=[redacted]" in line
    _assert_not_logged(caplog, token)
