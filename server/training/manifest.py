"""The training domain: programmes, cohorts, enrolments, sessions, attendance, sign-offs."""

from server.campaigns.signals import CONVERSATIONS_LOGGED
from server.core.manifest import DigestSection, Domain
from server.training.behind import behind_lines
from server.training.completion import on_conversations_logged
from server.training.models import MODELS
from server.training.session_reminders import SESSION_REMINDER_DAY, SESSION_REMINDER_HOUR
from server.training.session_templates import SESSION_TEMPLATES
from server.training.templates import TEMPLATES

DOMAIN = Domain(
    name="training",
    models=MODELS,
    reminders=(SESSION_REMINDER_DAY, SESSION_REMINDER_HOUR),
    digest_sections=(DigestSection("training.trainees_behind", behind_lines),),
    templates={**TEMPLATES, **SESSION_TEMPLATES},
    listeners=((CONVERSATIONS_LOGGED, on_conversations_logged),),
)
