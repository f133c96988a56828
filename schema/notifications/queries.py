from __future__ import annotations

import strawberry

from schema.context import Info
from schema.notifications.types import (
    DeliveryFailureType,
    NotificationConnection,
    NotificationType,
)
from schema.pagination import Connection, Edge, PageInfo, connection, page_request
from schema.permissions import IsAuthenticated
from server.notifications import failures, inbox


@strawberry.type
class NotificationsQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The signed-in member's in-app notifications, newest first.",
    )
    async def notifications(
        self,
        info: Info,
        first: int | None = 30,
        after: str | None = None,
        unread_only: bool | None = False,
    ) -> NotificationConnection:
        ctx = info.context
        request = page_request(ctx, first, after, default=30)
        actor = ctx.require_actor()
        async with ctx.db() as session:
            page = await inbox.list_notifications(session, actor, request, bool(unread_only))
            unread = await inbox.unread_count(session, actor)

        async def count() -> int:
            async with ctx.db():
                return await page.count()

        return NotificationConnection(
            edges=[
                Edge(cursor=c, node=NotificationType.of(n))
                for c, n in zip(page.cursors, page.items, strict=True)
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
            _count=count,
            unread_count=unread,
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Admins: deliveries of this organisation that did not get through.",
    )
    async def delivery_failures(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Connection[DeliveryFailureType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page = await failures.list_failures(session, ctx.require_actor(), request)
        return connection(ctx, page, DeliveryFailureType.of)
