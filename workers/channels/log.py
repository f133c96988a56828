"""Development stand-in for every provider: logs what would be sent, sends nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from workers.channels.base import Message, Outcome, Result

log = logging.getLogger(__name__)
MAX_ADDRESS_CHARS = 120


class LogChannel:
    max_batch: int = 100

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self.name = name
        self._log = logger or log

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        for m in messages:
            to = m.to if len(m.to) <= MAX_ADDRESS_CHARS else m.to[:MAX_ADDRESS_CHARS] + "…"
            self._log.info(
                "%s (not sent, delivery is 'log') to=%s title=%r body=%r link=%s delivery=%s",
                self.name,
                to,
                m.title,
                m.body,
                m.link or "-",
                m.delivery_id,
            )
        return [Outcome(m.delivery_id, Result.SENT) for m in messages]

    async def aclose(self) -> None:
        pass
