"""Live in-app notifications over Redis pub/sub, so every API process hears every worker."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.notifications.models import NotificationKind


class LiveNotification(Protocol):
    """What a live event carries (a Notification row or a just-created one)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def user_id(self) -> uuid.UUID | None: ...
    @property
    def kind(self) -> NotificationKind: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def link(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def in_app(self) -> bool: ...


log = logging.getLogger(__name__)


def channel_for(prefix: str, user_id: uuid.UUID) -> str:
    return f"{prefix}live:user:{user_id}"


def as_event(notification: LiveNotification) -> dict[str, Any]:
    return {
        "id": str(notification.id),
        "kind": notification.kind.value,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "createdAt": notification.created_at.isoformat(),
    }


async def publish(redis: Redis, prefix: str, notifications: Sequence[LiveNotification]) -> None:
    """Best effort: pub/sub is lossy by nature, and clients refetch after reconnecting."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for n in notifications:
                if n.user_id is not None and n.in_app:
                    pipe.publish(channel_for(prefix, n.user_id), json.dumps(as_event(n)))
            await pipe.execute()
    except RedisError:
        log.warning("live notifications: Redis unreachable, %d not pushed", len(notifications))


async def listen(redis: Redis, prefix: str, user_id: uuid.UUID) -> AsyncIterator[dict[str, Any]]:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel_for(prefix, user_id))
    try:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                yield json.loads(message["data"])
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
