from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from schema.context import Info
from schema.notifications.types import NotificationType
from schema.permissions import IsAuthenticated
from server.notifications.live import listen


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Every in-app notification for the signed-in member, live, from any "
        "server process. Pub/sub is lossy: refetch notifications after reconnecting.",
    )
    async def notification_received(self, info: Info) -> AsyncGenerator[NotificationType, None]:
        ctx = info.context
        actor = ctx.require_actor()
        services = ctx.services
        events = listen(services.redis, services.settings.redis_prefix, actor.user_id)
        # Ends with UNAUTHENTICATED within seconds of the session's revocation.
        async for event in services.revocations.while_valid(ctx.require_token(), events):
            yield NotificationType.from_event(event)
