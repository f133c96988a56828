"""Expo push: batches of up to 100 messages, a ticket for each, receipts fetched later."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from server.core.settings import Settings
from server.notifications.models import ChannelName
from workers.channels.base import Message, Outcome, Result
from workers.channels.http import (
    all_outcomes,
    chunked,
    json_body,
    new_client,
    response_error,
    retry_after,
    status_result,
    transport_error,
)

log = logging.getLogger(__name__)

MAX_RECEIPT_IDS = 1000
UNREGISTERED_ERRORS = frozenset({"DeviceNotRegistered"})
# Too many messages to one device: Expo asks for a backoff, the message itself is fine.
TRANSIENT_ERRORS = frozenset({"MessageRateExceeded"})


@dataclass(frozen=True)
class Receipt:
    result: Result  # DELIVERED, UNREGISTERED or FAILED
    error: str | None = None


def _error_code(item: dict[str, Any]) -> str:
    details = item.get("details")
    code = details.get("error") if isinstance(details, dict) else None
    return str(code or "UnknownError")


def _error_text(item: dict[str, Any]) -> str:
    return f"{_error_code(item)}: {item.get('message') or ''}".rstrip(": ")


def ticket_outcome(message: Message, ticket: Any) -> Outcome:
    if not isinstance(ticket, dict):
        return Outcome(message.delivery_id, Result.RETRY, error="Expo sent no ticket")
    if ticket.get("status") == "ok" and ticket.get("id"):
        return Outcome(message.delivery_id, Result.SENT, provider_id=str(ticket["id"]))
    code = _error_code(ticket)
    if code in UNREGISTERED_ERRORS:
        result = Result.UNREGISTERED
    elif code in TRANSIENT_ERRORS:
        result = Result.RETRY
    else:
        result = Result.FAILED
    return Outcome(message.delivery_id, result, error=_error_text(ticket))


def receipt_result(item: Any) -> Receipt:
    if not isinstance(item, dict):
        return Receipt(Result.FAILED, "unreadable receipt")
    if item.get("status") == "ok":
        return Receipt(Result.DELIVERED)
    code = _error_code(item)
    result = Result.UNREGISTERED if code in UNREGISTERED_ERRORS else Result.FAILED
    return Receipt(result, _error_text(item))


class ExpoChannel:
    name: str = ChannelName.EXPO
    max_batch: int = 100

    def __init__(self, settings: Settings, *, timeout: httpx.Timeout | float | None = None):
        self._send_url = settings.expo_push_url
        self._receipts_url = settings.expo_receipts_url
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        if settings.expo_access_token:
            headers["Authorization"] = f"Bearer {settings.expo_access_token}"
        self._client = new_client(timeout, headers=headers)

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        data: dict[str, str] = {**message.data, "delivery_id": str(message.delivery_id)}
        if message.link:
            data["link"] = message.link
        return {
            "to": message.to,
            "title": message.title,
            "body": message.body,
            "data": data,
            "sound": "default",
        }

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for chunk in chunked(messages, self.max_batch):
            outcomes.extend(await self._send_chunk(chunk))
        return outcomes

    async def _send_chunk(self, messages: Sequence[Message]) -> list[Outcome]:
        try:
            response = await self._client.post(
                self._send_url, json=[self.payload(m) for m in messages]
            )
        except httpx.TransportError as exc:
            return all_outcomes(messages, Result.RETRY, error=transport_error(exc))
        if response.status_code != 200:
            result = status_result(response.status_code)
            wait = retry_after(response) if result is Result.RETRY else None
            return all_outcomes(messages, result, error=response_error(response), retry_after=wait)
        body = json_body(response)
        tickets = body.get("data") if isinstance(body, dict) else None
        if not isinstance(tickets, list):
            return all_outcomes(
                messages, Result.RETRY, error=f"unreadable Expo answer: {response.text[:200]}"
            )
        padded = tickets + [None] * (len(messages) - len(tickets))
        return [ticket_outcome(m, t) for m, t in zip(messages, padded, strict=False)]

    async def receipts(self, ticket_ids: Sequence[str]) -> dict[str, Receipt]:
        """Receipts that are ready, by ticket id: an id left out is not ready yet.

        A call that fails (network, 429, 5xx) leaves its ids out too, so they are asked
        for again later; Expo keeps receipts for a day.
        """
        found: dict[str, Receipt] = {}
        for chunk in chunked(ticket_ids, MAX_RECEIPT_IDS):
            try:
                response = await self._client.post(self._receipts_url, json={"ids": list(chunk)})
            except httpx.TransportError as exc:
                log.warning("Expo receipts unavailable: %s", transport_error(exc))
                continue
            body = json_body(response)
            data = body.get("data") if isinstance(body, dict) else None
            if response.status_code != 200 or not isinstance(data, dict):
                log.warning("Expo receipts unavailable: %s", response_error(response))
                continue
            wanted = set(chunk)
            for ticket_id, item in data.items():
                if ticket_id in wanted:
                    found[ticket_id] = receipt_result(item)
        return found

    async def aclose(self) -> None:
        await self._client.aclose()
