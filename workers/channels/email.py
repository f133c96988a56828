"""Email over SMTP (aiosmtplib): one connection per batch, plain-text messages."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from server.core.settings import Settings
from server.notifications.models import ChannelName
from workers.channels.base import Message, Outcome, Result
from workers.channels.http import all_outcomes

DEFAULT_TIMEOUT_SECONDS = 15.0
USER_UNKNOWN = 550


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # implicit TLS (smtps://)
    start_tls: bool


def parse_smtp_url(url: str, *, starttls: bool = False) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"smtp_url must start with smtp:// or smtps://, not {parts.scheme!r}")
    implicit = parts.scheme == "smtps"
    default_port = 465 if implicit else (587 if starttls else 25)
    return SmtpServer(
        hostname=parts.hostname or "localhost",
        port=parts.port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=implicit,
        start_tls=starttls and not implicit,
    )


def message_id(message: Message, domain: str) -> str:
    """Stable per delivery, so a receiver can drop a resend it already has."""
    return f"<{message.delivery_id}@{domain}>"


def email_text(message: Message) -> str:
    parts = [message.title.strip(), message.body.strip()]
    if message.link:
        parts.append(message.link)
    return "\n\n".join(p for p in parts if p) + "\n"


def build_email(message: Message, sender: str, domain: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.title
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(message, domain)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(email_text(message))
    return email


def refusal_outcome(message: Message, code: int, text: str) -> Outcome:
    error = f"SMTP {code}: {text}"[:300]
    if 400 <= code < 500:
        return Outcome(message.delivery_id, Result.RETRY, error=error)
    if code == USER_UNKNOWN:
        return Outcome(message.delivery_id, Result.UNREGISTERED, error=error)
    return Outcome(message.delivery_id, Result.FAILED, error=error)


class SmtpEmailChannel:
    name: str = ChannelName.EMAIL
    max_batch: int = 20

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if not settings.smtp_url:
            raise ValueError("email needs smtp_url")
        self._server = parse_smtp_url(settings.smtp_url, starttls=settings.smtp_starttls)
        self._sender = settings.smtp_from
        address = parseaddr(settings.smtp_from)[1]
        self._domain = address.rpartition("@")[2] or "doorstep.local"
        self._timeout = timeout
        self._tls_context = tls_context

    def _client(self) -> aiosmtplib.SMTP:
        server = self._server
        return aiosmtplib.SMTP(
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=self._timeout,
            tls_context=self._tls_context,
        )

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        if not messages:
            return []
        smtp = self._client()
        try:
            await smtp.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            error = f"SMTP login refused ({exc.code}): check smtp_url credentials"
            return all_outcomes(messages, Result.RETRY, error=error)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return all_outcomes(messages, Result.RETRY, error=f"SMTP connection failed: {exc}")
        outcomes: list[Outcome] = []
        try:
            for index, message in enumerate(messages):
                try:
                    outcomes.append(await self._send_one(smtp, message))
                except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
                    outcomes.extend(
                        all_outcomes(
                            messages[index:], Result.RETRY, error=f"SMTP connection lost: {exc}"
                        )
                    )
                    break
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()
        return outcomes

    async def _send_one(self, smtp: aiosmtplib.SMTP, message: Message) -> Outcome:
        try:
            email = build_email(message, self._sender, self._domain)
        except ValueError as exc:
            return Outcome(message.delivery_id, Result.FAILED, error=f"bad address: {exc}")
        try:
            await smtp.send_message(email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return refusal_outcome(message, refused.code, refused.message)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            raise
        except aiosmtplib.SMTPResponseException as exc:
            return refusal_outcome(message, exc.code, exc.message)
        except aiosmtplib.SMTPException as exc:  # SMTPUTF8 address, server without it
            return Outcome(message.delivery_id, Result.FAILED, error=f"SMTP: {exc}"[:300])
        except ValueError as exc:
            return Outcome(message.delivery_id, Result.FAILED, error=f"bad address: {exc}")
        return Outcome(message.delivery_id, Result.SENT, provider_id=email["Message-ID"])

    async def aclose(self) -> None:
        """Connections live for one batch: nothing stays open."""
