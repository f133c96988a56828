"""Web push (RFC 8030): each message encrypted for its browser subscription, VAPID-signed.

pywebpush does the aes128gcm encryption and py_vapid the VAPID signature; the request
goes out on the channel's own httpx client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid  # type: ignore[import-untyped]
from pywebpush import WebPusher, WebPushException

from server.core.settings import Settings
from server.notifications.models import ChannelName
from workers.channels.base import Message, Outcome, Result
from workers.channels.http import (
    fit_body,
    json_bytes,
    new_client,
    response_error,
    status_outcome,
    transport_error,
)

# RFC 8291: a push service must accept 4096 bytes of encrypted payload; aes128gcm adds a
# 86-byte header, a padding delimiter and a 16-byte tag to one record.
MAX_PLAINTEXT_BYTES = 4096 - 86 - 1 - 16
VAPID_LIFETIME_SECONDS = 12 * 3600
VAPID_RENEW_SECONDS = 3600
DEFAULT_TTL_SECONDS = 24 * 3600


def load_vapid(private_key: str) -> Vapid:
    """A VAPID key from PEM text, a PEM file, or base64url raw/DER text."""
    key = private_key.strip()
    if "-----BEGIN" in key:
        return Vapid.from_pem(key.encode())
    if len(key) < 1024 and Path(key).is_file():
        return Vapid.from_file(key)
    return Vapid.from_string(key)


def audience(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class WebPushChannel:
    name: str = ChannelName.WEBPUSH
    max_batch: int = 20

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: httpx.Timeout | float | None = None,
        concurrency: int = 10,
        ttl: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        if not settings.webpush_vapid_private_key:
            raise ValueError("web push needs webpush_vapid_private_key")
        self._vapid = load_vapid(settings.webpush_vapid_private_key)
        self._subject = settings.webpush_vapid_subject
        self._ttl = ttl
        self._client = new_client(timeout, max_connections=concurrency)
        self._limit = asyncio.Semaphore(concurrency)
        self._authorizations: dict[str, tuple[float, str]] = {}

    def authorization(self, endpoint: str) -> str:
        """The VAPID Authorization header for the endpoint's origin, re-signed hourly."""
        aud = audience(endpoint)
        now = time.time()
        cached = self._authorizations.get(aud)
        if cached and cached[0] - VAPID_RENEW_SECONDS > now:
            return cached[1]
        expires = int(now) + VAPID_LIFETIME_SECONDS
        headers = self._vapid.sign({"sub": self._subject, "aud": aud, "exp": expires})
        value = str(headers["Authorization"])
        self._authorizations[aud] = (expires, value)
        return value

    @staticmethod
    def payload(message: Message) -> bytes | None:
        data: dict[str, str] = {**message.data, "delivery_id": str(message.delivery_id)}

        def content(body: str) -> dict[str, Any]:
            return {"title": message.title, "body": body, "link": message.link, "data": data}

        fitted = fit_body(
            message.body, lambda body: len(json_bytes(content(body))), MAX_PLAINTEXT_BYTES
        )
        return None if fitted is None else json_bytes(content(fitted[0]))

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._send_one(m) for m in messages)))

    def _prepare(self, message: Message) -> tuple[str, bytes] | Outcome:
        try:
            subscription = json.loads(message.to)
            endpoint = str(subscription["endpoint"])
            if urlsplit(endpoint).scheme not in ("http", "https"):
                raise ValueError(f"not a push endpoint: {endpoint[:100]}")
            pusher = WebPusher(subscription)
        except (ValueError, KeyError, TypeError, WebPushException) as exc:
            # The subscription can never work: have the dispatcher disable the device.
            error = f"invalid web push subscription: {exc}"[:300]
            return Outcome(message.delivery_id, Result.UNREGISTERED, error=error)
        plaintext = self.payload(message)
        if plaintext is None:
            error = f"payload over {MAX_PLAINTEXT_BYTES} bytes even without a body"
            return Outcome(message.delivery_id, Result.FAILED, error=error)
        try:
            encrypted = pusher.encode(plaintext, content_encoding="aes128gcm")["body"]
        except (ValueError, WebPushException) as exc:
            error = f"invalid web push subscription keys: {exc}"[:300]
            return Outcome(message.delivery_id, Result.UNREGISTERED, error=error)
        return endpoint, encrypted

    async def _send_one(self, message: Message) -> Outcome:
        prepared = self._prepare(message)
        if isinstance(prepared, Outcome):
            return prepared
        endpoint, encrypted = prepared
        headers = {
            "Authorization": self.authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self._ttl),
            "Urgency": "normal",
        }
        async with self._limit:
            try:
                response = await self._client.post(endpoint, content=encrypted, headers=headers)
            except httpx.TransportError as exc:
                return Outcome(message.delivery_id, Result.RETRY, error=transport_error(exc))
        if response.is_success:
            location = response.headers.get("Location")
            provider_id = location if location and len(location) <= 200 else None
            return Outcome(message.delivery_id, Result.SENT, provider_id=provider_id)
        error = response_error(response)
        if response.status_code in (404, 410):
            return Outcome(message.delivery_id, Result.UNREGISTERED, error=error)
        return status_outcome(message, response, error)

    async def aclose(self) -> None:
        await self._client.aclose()
