"""The words training sessions send (declared in the training domain's manifest)."""

from __future__ import annotations

from server.notifications.models import ChannelName, NotificationKind
from server.notifications.templates import PUSH, Template
from server.training.session_reminders import SESSION_CHANGED_TEMPLATE, SESSION_REMINDER_TEMPLATE

SESSION_TEMPLATES: dict[str, Template] = {
    SESSION_REMINDER_TEMPLATE: Template(
        NotificationKind.SESSION_REMINDER,
        "Training {when}: {title}",
        "{title} starts at {starts}. {location}",
    ),
    SESSION_CHANGED_TEMPLATE: Template(
        NotificationKind.SESSION_CHANGED,
        "Training changed: {title}",
        "{change}",
        channels=(*PUSH, ChannelName.EMAIL),
    ),
}
