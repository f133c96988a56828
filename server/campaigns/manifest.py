"""The campaigns domain: campaigns, conversations, residents, follow-ups and events."""

from server.campaigns.followups import FOLLOW_UP_DUE, FOLLOW_UP_OVERDUE, due_today_lines
from server.campaigns.models import MODELS
from server.campaigns.templates import TEMPLATES
from server.core.manifest import DigestSection, Domain

DOMAIN = Domain(
    name="campaigns",
    models=MODELS,
    reminders=(FOLLOW_UP_DUE, FOLLOW_UP_OVERDUE),
    digest_sections=(DigestSection("campaigns.follow_ups_due_today", due_today_lines),),
    templates={**TEMPLATES},
)
