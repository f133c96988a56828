"""Staging work for the workers in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.core.models import utcnow
from server.outbox.models import OutboxMessage


def stage(
    session: AsyncSession,
    topic: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
    available_at: datetime | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        topic=topic, payload=payload, dedupe_key=dedupe_key, available_at=available_at or utcnow()
    )
    session.add(message)
    return message
