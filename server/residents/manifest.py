"""The residents domain: invitations, responses, hearing back, data rights."""

from server.core.manifest import Domain
from server.residents import pages
from server.residents.models import MODELS

DOMAIN = Domain(name="residents", models=MODELS, routes=pages.routes)
