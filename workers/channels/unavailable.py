"""The channel of a delivery this deployment cannot send: it is marked dead, never sent.

A channel left out of DOORSTEP_CHANNELS, or one that live delivery has no provider
settings for, answers every message with UNAVAILABLE and the reason. The dispatcher
records the delivery DEAD, which admins see in ``deliveryFailures`` and which
``doorstep notifications requeue`` sends again once the channel is set up.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.channels.base import Message, Outcome, Result


class UnavailableChannel:
    max_batch: int = 100

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        return [Outcome(m.delivery_id, Result.UNAVAILABLE, error=self.reason) for m in messages]

    async def aclose(self) -> None:
        pass
