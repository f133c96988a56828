"""Firebase Cloud Messaging HTTP v1: one request per message, a few at a time."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt

from server.core.settings import Settings
from server.notifications.models import ChannelName
from workers.channels.base import Message, Outcome, Result
from workers.channels.http import (
    all_outcomes,
    fit_body,
    json_body,
    json_bytes,
    new_client,
    response_error,
    retry_after,
    transport_error,
)

log = logging.getLogger(__name__)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_PAYLOAD_BYTES = 4096
QUOTA_BACKOFF_SECONDS = 60.0
TOKEN_MARGIN_SECONDS = 60.0


class TokenError(Exception):
    """No OAuth access token could be had from Google's token endpoint."""


class ServiceAccountTokens:
    """OAuth access tokens minted from a service-account key, cached until near expiry."""

    def __init__(
        self,
        key_file: Path,
        client: httpx.AsyncClient,
        *,
        scope: str = FCM_SCOPE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        info = json.loads(Path(key_file).read_text())
        self._email: str = info["client_email"]
        self._private_key: str = info["private_key"]
        self._key_id: str | None = info.get("private_key_id")
        self._token_uri: str = info.get("token_uri") or GOOGLE_TOKEN_URI
        self._client = client
        self._scope = scope
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token and self._clock() < self._expires_at - TOKEN_MARGIN_SECONDS:
            return self._token
        async with self._lock:
            if self._token and self._clock() < self._expires_at - TOKEN_MARGIN_SECONDS:
                return self._token
            self._token, self._expires_at = await self._mint()
            return self._token

    def invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = None

    def assertion(self, now: int) -> str:
        claims = {
            "iss": self._email,
            "scope": self._scope,
            "aud": self._token_uri,
            "iat": now,
            "exp": now + 3600,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers=headers)

    async def _mint(self) -> tuple[str, float]:
        now = self._clock()
        data = {"grant_type": JWT_BEARER, "assertion": self.assertion(int(now))}
        try:
            response = await self._client.post(self._token_uri, data=data)
        except httpx.TransportError as exc:
            raise TokenError(transport_error(exc)) from exc
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise TokenError(response_error(response))
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenError("token endpoint answered without an access_token")
        expires_in = float(body.get("expires_in") or 3600)
        return token, now + expires_in


class StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    async def get(self) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        """A fixed token cannot be refreshed."""


def _error_codes(body: Any) -> tuple[str, set[str]]:
    """The error's status ("NOT_FOUND"...) and the FCM error codes in its details."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", set()
    codes = {
        str(d["errorCode"])
        for d in error.get("details") or []
        if isinstance(d, dict) and d.get("errorCode")
    }
    return str(error.get("status") or ""), codes


def answer_outcome(message: Message, response: httpx.Response, note: str | None) -> Outcome:
    status = response.status_code
    body = json_body(response)
    if status == 200:
        name = body.get("name") if isinstance(body, dict) else None
        return Outcome(message.delivery_id, Result.SENT, provider_id=name, error=note)
    error = response_error(response)
    state, codes = _error_codes(body)
    if status == 404 or "UNREGISTERED" in codes or state == "UNREGISTERED":
        return Outcome(message.delivery_id, Result.UNREGISTERED, error=error)
    if status == 429:
        wait = max(QUOTA_BACKOFF_SECONDS, retry_after(response) or 0.0)
        return Outcome(message.delivery_id, Result.RETRY, error=error, retry_after=wait)
    if status >= 500:
        return Outcome(
            message.delivery_id, Result.RETRY, error=error, retry_after=retry_after(response)
        )
    if status in (401, 403) and "SENDER_ID_MISMATCH" not in codes:
        return Outcome(
            message.delivery_id,
            Result.RETRY,
            error=f"FCM refused the credentials, a fresh token is used next time; {error}",
        )
    # 400 INVALID_ARGUMENT, 403 SENDER_ID_MISMATCH and the rest: resending will not help.
    return Outcome(message.delivery_id, Result.FAILED, error=error)


class FcmChannel:
    name: str = ChannelName.FCM
    max_batch: int = 20

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: httpx.Timeout | float | None = None,
        concurrency: int = 10,
    ) -> None:
        if not settings.fcm_project_id:
            raise ValueError("FCM needs fcm_project_id")
        self._url = settings.fcm_url.format(project_id=settings.fcm_project_id)
        self._client = new_client(timeout, max_connections=concurrency)
        self._tokens: ServiceAccountTokens | StaticToken
        if settings.fcm_access_token:
            self._tokens = StaticToken(settings.fcm_access_token)
        elif settings.fcm_credentials_file:
            self._tokens = ServiceAccountTokens(settings.fcm_credentials_file, self._client)
        else:
            raise ValueError("FCM needs fcm_credentials_file or fcm_access_token")
        self._limit = asyncio.Semaphore(concurrency)

    @staticmethod
    def payload(message: Message) -> tuple[bytes, str | None] | None:
        """The request body and a note if the body was shortened; None if it cannot fit."""
        data: dict[str, str] = {**message.data, "delivery_id": str(message.delivery_id)}
        if message.link:
            data["link"] = message.link

        def content(body: str) -> dict[str, Any]:
            return {"notification": {"title": message.title, "body": body}, "data": data}

        fitted = fit_body(
            message.body, lambda body: len(json_bytes(content(body))), MAX_PAYLOAD_BYTES
        )
        if fitted is None:
            return None
        body, truncated = fitted
        note = f"body truncated to fit FCM's {MAX_PAYLOAD_BYTES} bytes" if truncated else None
        return json_bytes({"message": {"token": message.to, **content(body)}}), note

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        try:
            token = await self._tokens.get()
        except TokenError as exc:
            return all_outcomes(
                messages, Result.RETRY, error=f"no FCM access token from Google: {exc}"
            )
        return list(await asyncio.gather(*(self._send_one(m, token) for m in messages)))

    async def _send_one(self, message: Message, token: str) -> Outcome:
        prepared = self.payload(message)
        if prepared is None:
            error = f"payload over FCM's {MAX_PAYLOAD_BYTES} bytes even without a body"
            return Outcome(message.delivery_id, Result.FAILED, error=error)
        content, note = prepared
        if note:
            log.warning("FCM delivery %s: %s", message.delivery_id, note)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with self._limit:
            try:
                response = await self._client.post(self._url, content=content, headers=headers)
            except httpx.TransportError as exc:
                return Outcome(message.delivery_id, Result.RETRY, error=transport_error(exc))
        if response.status_code in (401, 403):
            self._tokens.invalidate(token)
        return answer_outcome(message, response, note)

    async def aclose(self) -> None:
        await self._client.aclose()
