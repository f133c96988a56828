"""The residents domain: invitations, responses, hearing back, data rights."""

from server.campaigns.signals import TALLIES_REBUILT
from server.core.manifest import Domain
from server.residents import pages
from server.residents.invitation_templates import TEMPLATES as INVITATION_TEMPLATES
from server.residents.models import MODELS
from server.residents.response_tallies import recount_responses
from server.residents.retention import ERASE_STALE_RESIDENTS

DOMAIN = Domain(
    name="residents",
    models=MODELS,
    templates={**INVITATION_TEMPLATES},
    listeners=((TALLIES_REBUILT, recount_responses),),
    jobs=(ERASE_STALE_RESIDENTS,),
    routes=pages.routes,
)
