"""The campaigns domain's notification words (declared in its manifest)."""

from __future__ import annotations

from server.notifications.models import NotificationKind
from server.notifications.templates import Template

CAMPAIGN_ACTIVATED = "campaign_activated"

TEMPLATES: dict[str, Template] = {
    CAMPAIGN_ACTIVATED: Template(
        NotificationKind.CAMPAIGN_ACTIVATED,
        "Campaign started: {campaign}",
        "{campaign} is now active and you are one of its organisers. Open it to see its "
        "questions and start knocking.",
    ),
}
