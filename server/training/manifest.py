"""The training domain: programmes, cohorts, enrolments, sessions, attendance, sign-offs."""

from server.core.manifest import Domain
from server.training.models import MODELS
from server.training.session_reminders import SESSION_REMINDER_DAY, SESSION_REMINDER_HOUR
from server.training.session_templates import SESSION_TEMPLATES

DOMAIN = Domain(
    name="training",
    models=MODELS,
    reminders=(SESSION_REMINDER_DAY, SESSION_REMINDER_HOUR),
    templates={**SESSION_TEMPLATES},
)
