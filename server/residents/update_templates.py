"""The words of a campaign update ("you said, we did") as residents receive it."""

from __future__ import annotations

from server.notifications.models import NotificationKind
from server.notifications.templates import Template

CAMPAIGN_UPDATE = "resident_campaign_update"

TEMPLATES: dict[str, Template] = {
    CAMPAIGN_UPDATE: Template.resident(
        NotificationKind.CAMPAIGN_UPDATE,
        "{title}",
        "{summary}\n\nYou asked to hear what came of \u201c{campaign}\u201d.",
    ),
}
