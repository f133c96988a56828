"""The residents domain: invitations, responses, hearing back, data rights."""

from server.core.manifest import Domain
from server.residents.models import MODELS
from server.residents.update_templates import TEMPLATES as UPDATE_TEMPLATES

DOMAIN = Domain(name="residents", models=MODELS, templates={**UPDATE_TEMPLATES})
