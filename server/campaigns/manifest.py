"""The campaigns domain: campaigns, conversations, residents, follow-ups and events."""

from server.campaigns.models import MODELS
from server.campaigns.templates import TEMPLATES
from server.core.manifest import Domain

DOMAIN = Domain(
    name="campaigns",
    models=MODELS,
    templates={**TEMPLATES},
)
