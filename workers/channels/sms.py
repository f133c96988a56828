"""SMS through Twilio's Messages API; delivery is confirmed later by status callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from server.core.settings import Settings
from server.notifications.models import ChannelName
from workers.channels.base import Message, Outcome, Result
from workers.channels.http import (
    ELLIPSIS,
    json_body,
    new_client,
    response_error,
    retry_after,
    status_outcome,
    transport_error,
)

STATUS_CALLBACK_PATH = "/hooks/twilio/status"
# Two concatenated GSM-7 segments: 2 x 153 characters.
MAX_SMS_CHARS = 306
# Invalid 'To' number, not a mobile number, recipient unsubscribed (replied STOP).
UNREGISTERED_CODES = frozenset({21211, 21614, 21610})


def sms_text(message: Message, limit: int = MAX_SMS_CHARS) -> str:
    """Title, body and link on their own lines; the body is shortened, never the link."""
    tail = f"\n{message.link}" if message.link else ""
    head = message.title.strip()
    body = message.body.strip()
    text = f"{head}\n{body}" if body else head
    if len(text) + len(tail) <= limit:
        return text + tail
    room = max(0, limit - len(tail) - len(ELLIPSIS))
    return text[:room].rstrip() + ELLIPSIS + tail


class TwilioSmsChannel:
    name: str = ChannelName.SMS
    max_batch: int = 10

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: httpx.Timeout | float | None = None,
        concurrency: int = 5,
    ) -> None:
        sid, token = settings.twilio_account_sid, settings.twilio_auth_token
        if not (sid and token and settings.twilio_from_number):
            raise ValueError("SMS needs twilio_account_sid, twilio_auth_token and from number")
        self._url = f"{settings.twilio_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        self._from = settings.twilio_from_number
        self._status_callback = settings.public_url.rstrip("/") + STATUS_CALLBACK_PATH
        self._client = new_client(
            timeout, max_connections=concurrency, auth=httpx.BasicAuth(sid, token)
        )
        self._limit = asyncio.Semaphore(concurrency)

    def form(self, message: Message) -> dict[str, str]:
        return {
            "From": self._from,
            "To": message.to,
            "Body": sms_text(message),
            "StatusCallback": self._status_callback,
        }

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._send_one(m) for m in messages)))

    async def _send_one(self, message: Message) -> Outcome:
        async with self._limit:
            try:
                response = await self._client.post(self._url, data=self.form(message))
            except httpx.TransportError as exc:
                return Outcome(message.delivery_id, Result.RETRY, error=transport_error(exc))
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        if response.is_success and body.get("sid"):
            return Outcome(message.delivery_id, Result.SENT, provider_id=str(body["sid"]))
        code = body.get("code")
        error = (
            f"Twilio error {code}: {body.get('message') or ''}"[:300]
            if code
            else response_error(response)
        )
        if code in UNREGISTERED_CODES:
            return Outcome(message.delivery_id, Result.UNREGISTERED, error=error)
        if response.status_code == 401:
            # Wrong or rotated credentials: the message is fine, the configuration is not.
            return Outcome(
                message.delivery_id,
                Result.RETRY,
                error=f"Twilio refused the credentials; {error}",
                retry_after=retry_after(response),
            )
        if response.is_success:
            return Outcome(message.delivery_id, Result.RETRY, error="Twilio answered without sid")
        return status_outcome(message, response, error)

    async def aclose(self) -> None:
        await self._client.aclose()
