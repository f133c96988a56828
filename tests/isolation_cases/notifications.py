"""Isolation cases for the notifications domain's root fields."""

from __future__ import annotations

import asyncio
import uuid

from schema import build_schema
from schema.context import Context
from server.core.enums import Role
from server.notifications.live import channel_for, publish
from server.notifications.models import (
    ChannelName,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationKind,
)
from tests.contract_ops import op
from tests.isolation_cases import Case, World


async def notifications(w: World) -> None:
    for role in Role:
        data = await w.data("MyNotifications", {"first": 100}, role=role)
        assert data["notifications"]["edges"] == []
        assert data["notifications"]["unreadCount"] == 0


async def delivery_failures(w: World) -> None:
    async with w.services.db.session() as session:
        session.add(
            Delivery(
                notification_id=w.their_notification.id,
                channel=ChannelName.EMAIL,
                address=w.theirs.members[Role.ORGANISER].email,
                status=DeliveryStatus.DEAD,
                attempts=6,
                last_error="Theirs mailbox full",
            )
        )
        await session.commit()
    w.secrets.add("Theirs mailbox full")
    query = "{ deliveryFailures(first: 100) { totalCount edges { node { id lastError } } } }"
    body = await w.gql.raw(query, token=w.ours.token(Role.ADMIN))
    w.responses.append(body)
    assert body["data"] == {"deliveryFailures": {"totalCount": 0, "edges": []}}
    for role in (Role.SENIOR_ORGANISER, Role.TRAINER, Role.ORGANISER):
        body = await w.gql.raw(query, token=w.ours.token(role))
        w.responses.append(body)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def mark_notifications_read(w: World) -> None:
    their_id = str(w.their_notification.id)
    for role in Role:
        data = await w.data("MarkNotificationsRead", {"ids": [their_id]}, role=role)
        assert data["markNotificationsRead"]["userErrors"] == [
            {"field": "ids.0", "message": "No such notification.", "code": "NOT_FOUND"}
        ]


async def update_notification_preferences(w: World) -> None:
    data = await w.data(
        "UpdateNotificationPreferences",
        {"input": {"pushEnabled": False, "digest": "NEVER"}},
        role=Role.ORGANISER,
    )
    prefs = data["updateNotificationPreferences"]["notificationPreferences"]
    assert prefs["pushEnabled"] is False


async def notification_received(w: World) -> None:
    """The live feed carries the subscriber's own notifications only."""
    ours = w.ours.members[Role.ORGANISER]
    actor = w.ours.actor(Role.ORGANISER)
    schema = build_schema(w.services.settings)
    ctx = Context(services=w.services, request=None, actor=None)
    ctx.sign_in(w.services.access_tokens.decode(w.ours.token(Role.ORGANISER)))
    assert ctx.actor == actor
    stream = await schema.subscribe(op("OnNotification"), context_value=ctx)
    assert not isinstance(stream, Exception) and hasattr(stream, "__anext__"), stream
    first = asyncio.ensure_future(stream.__anext__())
    channel = channel_for(w.services.settings.redis_prefix, ours.id)
    for _ in range(1000):  # until the stream listens (or has failed)
        if first.done() or (await w.services.redis.pubsub_numsub(channel))[0][1]:
            break
        await asyncio.sleep(0.01)
    mine = Notification(
        organisation_id=w.ours.organisation.id,
        user_id=ours.id,
        dedupe_key=f"isolation:{uuid.uuid4()}",
        kind=NotificationKind.SYSTEM,
        title="Ours title",
        body="Ours body",
    )
    await publish(w.services.redis, w.services.settings.redis_prefix, [w.their_notification, mine])
    try:
        result = await asyncio.wait_for(first, timeout=10)
    finally:
        await stream.aclose()
        await ctx.close()
    assert result.errors is None, result.errors
    w.responses.append(result.data)
    assert result.data == {
        "notificationReceived": {
            "id": str(mine.id),
            "kind": "SYSTEM",
            "title": "Ours title",
            "body": "Ours body",
            "link": None,
            "createdAt": mine.created_at.isoformat().replace("+00:00", "Z"),
        }
    }


CASES: dict[str, Case] = {
    "notifications": notifications,
    "deliveryFailures": delivery_failures,
    "markNotificationsRead": mark_notifications_read,
    "updateNotificationPreferences": update_notification_preferences,
    "notificationReceived": notification_received,
}
