"""The residents domain: invitations, responses, hearing back, data rights."""

from server.core.manifest import Domain
from server.residents.models import MODELS
from server.residents.retention import ERASE_STALE_RESIDENTS

DOMAIN = Domain(name="residents", models=MODELS, jobs=(ERASE_STALE_RESIDENTS,))
