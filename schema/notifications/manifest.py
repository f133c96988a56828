"""What the notifications domain adds to the schema root (schema.root)."""

from schema.notifications.mutations import NotificationsMutation
from schema.notifications.queries import NotificationsQuery
from schema.notifications.subscriptions import NotificationsSubscription
from schema.part import SchemaPart

PART = SchemaPart(
    query=NotificationsQuery,
    mutation=NotificationsMutation,
    subscription=NotificationsSubscription,
)
