"""The training domain: programmes, cohorts, enrolments, sessions, attendance, sign-offs."""

from server.campaigns.signals import CONVERSATIONS_LOGGED
from server.core.manifest import Domain
from server.training.completion import on_conversations_logged
from server.training.models import MODELS
from server.training.templates import TEMPLATES

DOMAIN = Domain(
    name="training",
    models=MODELS,
    templates={**TEMPLATES},
    listeners=((CONVERSATIONS_LOGGED, on_conversations_logged),),
)
