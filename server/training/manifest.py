"""The training domain: programmes, cohorts, enrolments, sessions, attendance, sign-offs."""

from server.core.manifest import Domain
from server.training.models import MODELS

DOMAIN = Domain(name="training", models=MODELS)
