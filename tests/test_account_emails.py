"""Invitation and password-reset emails, end to end: mutation -> outbox -> worker -> SMTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from server.enums import Role
from server.notifications.models import Notification
from server.outbox.models import OutboxMessage
from server.services import Services
from server.settings import Settings
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
