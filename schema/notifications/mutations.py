from __future__ import annotations

from typing import Annotated

import strawberry

from schema.accounts.types import NotificationPreferencesType
from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_ids
from schema.lists import MAX_IDS
from schema.mutation import attempt
from schema.notifications.enums import DigestFrequency
from schema.permissions import IsAuthenticated
from server.notifications import inbox
from server.notifications.preferences import PreferencesChange, update_preferences


@strawberry.type
class MarkNotificationsReadPayload:
    unread_count: int | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class NotificationPreferencesInput:
    push_enabled: bool | None = None
    email_enabled: bool | None = None
    sms_enabled: bool | None = None
    quiet_hours_start: str | None = strawberry.field(
        default=None, description='Local time "HH:MM"; "" clears quiet hours.'
    )
    quiet_hours_end: str | None = None
    timezone: str | None = strawberry.field(
        default=None, description="IANA name, e.g. Europe/London."
    )
    digest: DigestFrequency | None = None


@strawberry.type
class UpdateNotificationPreferencesPayload:
    notification_preferences: NotificationPreferencesType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description=f"At most {MAX_IDS} ids.")
        ],
    ) -> MarkNotificationsReadPayload:
        ctx = info.context
        actor = ctx.require_actor()
        unread, errors = await attempt(
            ctx,
            lambda s: inbox.mark_read(s, actor, parse_ids(ids, "ids", "notification")),
        )
        return MarkNotificationsReadPayload(unread_count=unread, user_errors=errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_notification_preferences(
        self, info: Info, input: NotificationPreferencesInput
    ) -> UpdateNotificationPreferencesPayload:
        ctx = info.context
        change = PreferencesChange(
            push_enabled=input.push_enabled,
            email_enabled=input.email_enabled,
            sms_enabled=input.sms_enabled,
            quiet_hours_start=input.quiet_hours_start,
            quiet_hours_end=input.quiet_hours_end,
            timezone=input.timezone,
            digest=input.digest,
        )
        prefs, errors = await attempt(
            ctx, lambda s: update_preferences(s, ctx.require_actor(), change)
        )
        return UpdateNotificationPreferencesPayload(
            notification_preferences=NotificationPreferencesType.of(prefs) if prefs else None,
            user_errors=errors,
        )
