"""What every delivery channel takes and gives back.

A channel turns Messages into Outcomes and nothing else: it never touches the database.
The dispatcher (workers/dispatch.py) claims deliveries, calls ``send`` with up to
``max_batch`` messages, and records each Outcome (server/notifications/deliveries.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from server.notifications.deliveries import Message, Outcome, Result

__all__ = ["Channel", "Message", "Outcome", "Result"]


class Channel(Protocol):
    name: str
    max_batch: int

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """One Outcome per message, in any order; never raises for provider failures."""
        ...

    async def aclose(self) -> None: ...
