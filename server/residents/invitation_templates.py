"""The words of an invitation sent to a resident by email or SMS (declared in the
manifest). The message carries the resident's own secret link, so it is sensitive:
erased once sent."""

from __future__ import annotations

from server.notifications.models import NotificationKind
from server.notifications.templates import Template

INVITATION = "resident_invitation"

TEMPLATES: dict[str, Template] = {
    INVITATION: Template.resident(
        NotificationKind.SYSTEM,
        "{organisation}: {campaign}",
        "{organisation} would like to hear from you about {campaign}. Answer here: {url} "
        "(this link is yours alone and works until {expires}).",
        sensitive=True,
    ),
}
