"""A fake SMTP server (aiosmtpd) in the running event loop, on a port the OS picks."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes.server import Service


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    username: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class FakeSmtp(Service):
    """Records each mail; ``rcpt_replies`` and ``data_replies`` script refusals.

    ``tls`` with ``implicit_tls`` False offers STARTTLS; with True the whole connection is
    TLS (smtps). ``username``/``password`` make AUTH required.
    """

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.username = username
        self.password = password
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.received: list[ReceivedMail] = []
        self.rcpt_replies: dict[str, str] = {}  # address -> e.g. "550 5.1.1 User unknown"
        self.data_replies: deque[str] = deque()  # answers to the next DATA commands
        self.disconnect_on_data = 0  # drop the connection at the next N DATA commands
        self.auth_failures = 0
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self) -> str:
        scheme = "smtps" if self.tls is not None and self.implicit_tls else "smtp"
        auth = ""
        if self.username is not None:
            auth = f"{quote(self.username, safe='')}:{quote(self.password or '', safe='')}@"
        return f"{scheme}://{auth}{self.host}:{self.port}"

    def settings(self) -> dict[str, Any]:
        return {
            "smtp_url": self.url(),
            "smtp_starttls": self.tls is not None and not self.implicit_tls,
        }

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        if not ok:
            self.auth_failures += 1
        # handled=False: aiosmtpd itself answers 235 or 535.
        return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.disconnect_on_data > 0:
            self.disconnect_on_data -= 1
            if server.transport is not None:
                server.transport.close()
            return "421 4.4.2 closing (fake)"
        if self.data_replies:
            return self.data_replies.popleft()
        content = envelope.original_content or b""
        self.received.append(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                data=content,
                username=session.auth_data if session.authenticated else None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"

    def _protocol(self) -> SMTP:
        self.connections += 1
        has_login = self.username is not None
        starttls = self.tls is not None and not self.implicit_tls
        return SMTP(
            self,
            hostname="fake-smtp.test",
            tls_context=self.tls if starttls else None,
            require_starttls=starttls,
            # aiosmtpd warns about AUTH required without TLS: then AUTH is offered, and
            # tests check ReceivedMail.username instead.
            auth_required=has_login and starttls,
            auth_require_tls=starttls,
            authenticator=self._authenticate if has_login else None,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            self.host,
            0,
            ssl=self.tls if self.implicit_tls else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
