"""Audit cases for the notifications domain's mutations."""

from __future__ import annotations

import uuid

from server.core.enums import Role
from server.core.services import Services
from server.notifications.models import Notification, NotificationKind
from tests.audit_cases import Expected, Run
from tests.conftest import GraphQLClient, Org
from tests.contract_ops import op


async def mark_notifications_read(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    user = org.members[Role.ORGANISER]
    notification = Notification(
        organisation_id=org.organisation.id,
        user_id=user.id,
        dedupe_key=f"audit-test:{uuid.uuid4()}",
        kind=NotificationKind.SYSTEM,
        title="Hello",
        body="Read me",
    )
    async with services.db.session() as session:
        session.add(notification)
        await session.commit()
    data = await gql(
        op("MarkNotificationsRead"),
        {"ids": [str(notification.id)]},
        token=org.token(Role.ORGANISER),
    )
    assert data["markNotificationsRead"]["userErrors"] == []
    return Expected("notification.mark_read", "Notification", notification.id, user.id)


async def update_notification_preferences(
    gql: GraphQLClient, org: Org, services: Services
) -> Expected:
    data = await gql(
        op("UpdateNotificationPreferences"),
        {"input": {"smsEnabled": True}},
        token=org.token(Role.TRAINER),
    )
    assert data["updateNotificationPreferences"]["userErrors"] == []
    user = org.members[Role.TRAINER].id
    return Expected("notification_preferences.update", "User", user, user)


CASES: dict[str, Run] = {
    "markNotificationsRead": mark_notifications_read,
    "updateNotificationPreferences": update_notification_preferences,
}
