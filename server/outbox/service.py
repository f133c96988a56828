"""Staging work for the workers in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.core.bulk import insert_rows
from server.core.models import utcnow
from server.outbox.models import OutboxMessage

if TYPE_CHECKING:
    from server.core.manifest import Topic


def stage(
    session: AsyncSession,
    topic: Topic,
    payload: dict[str, Any],
    *,
    dedupe_key: str,
    available_at: datetime | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        topic=topic.name,
        payload=payload,
        dedupe_key=dedupe_key,
        available_at=available_at or utcnow(),
    )
    session.add(message)
    return message


async def stage_many(
    session: AsyncSession, topic: Topic, messages: Sequence[tuple[dict[str, Any], str]]
) -> None:
    """``stage`` for many (payload, dedupe key) pairs, in one INSERT."""
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "topic": topic.name,
            "payload": payload,
            "dedupe_key": dedupe_key,
            "available_at": now,
            "attempts": 0,
        }
        for payload, dedupe_key in messages
    ]
    await insert_rows(session, OutboxMessage, rows)
