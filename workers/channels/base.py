"""What every delivery channel takes and gives back.

A channel turns Messages into Outcomes and nothing else: it never touches the database.
The dispatcher (workers/dispatch.py) claims deliveries, calls ``send`` with up to
``max_batch`` messages, and records each Outcome (retry with backoff, disable a device...).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Message:
    delivery_id: uuid.UUID
    # Push token, web push subscription (JSON text), phone number (E.164) or email address.
    to: str
    title: str
    body: str
    link: str | None = None
    data: dict[str, str] = field(default_factory=dict)


class Result(StrEnum):
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"  # confirmed delivered (receipts, status callbacks)
    RETRY = "retry"  # a passing failure: try again later (429, 5xx, network)
    FAILED = "failed"  # refused for good (invalid request): never retry
    UNREGISTERED = "unregistered"  # the token or address is gone: disable the device
    UNAVAILABLE = "unavailable"  # this deployment cannot send on the channel: dead at once


@dataclass(frozen=True)
class Outcome:
    delivery_id: uuid.UUID
    result: Result
    provider_id: str | None = None  # Expo ticket id, FCM message name, Twilio SID...
    error: str | None = None
    retry_after: float | None = None  # seconds, from the provider's Retry-After


class Channel(Protocol):
    name: str
    max_batch: int

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """One Outcome per message, in any order; never raises for provider failures."""
        ...

    async def aclose(self) -> None: ...
