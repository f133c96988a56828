"""The notifications domain: in-app notifications, deliveries, preferences, reminders."""

from server.core.manifest import Domain
from server.notifications.digests import SEND_DIGESTS
from server.notifications.models import Delivery, Notification, NotificationPreference, Reminder
from server.notifications.notify import NOTIFY
from server.notifications.reminders import FIRE_REMINDER, SCHEDULE
from server.notifications.templates import TEMPLATES

DOMAIN = Domain(
    name="notifications",
    models=(Notification, Delivery, NotificationPreference, Reminder),
    outbox=(NOTIFY, SCHEDULE),
    jobs=(FIRE_REMINDER, SEND_DIGESTS),
    templates=TEMPLATES,
)
