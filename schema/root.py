"""The root types: every domain's queries and mutations merged by inheritance."""

from __future__ import annotations

import strawberry

from schema.accounts.mutations import AccountsMutation
from schema.accounts.queries import AccountsQuery
from schema.audit.queries import AuditQuery
from schema.notifications.mutations import NotificationsMutation
from schema.notifications.queries import NotificationsQuery
from schema.notifications.subscriptions import NotificationsSubscription


@strawberry.type
class Query(AccountsQuery, AuditQuery, NotificationsQuery):
    pass


@strawberry.type
class Mutation(AccountsMutation, NotificationsMutation):
    pass


@strawberry.type
class Subscription(NotificationsSubscription):
    pass
