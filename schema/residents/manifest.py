"""What the residents domain adds to the schema root (schema.root)."""

from strawberry.tools import merge_types

from schema.part import SchemaPart
from schema.residents.invitations import InvitationMutations, InvitationQueries
from schema.residents.responses import ResponseMutations
from schema.residents.rights import ResidentRightsMutations, ResidentRightsQueries
from schema.residents.staff_responses import CampaignResponseMutations, CampaignResponseQueries
from schema.residents.updates import CampaignUpdateMutations, CampaignUpdateQueries

PART = SchemaPart(
    query=merge_types(
        "ResidentsQuery",
        (InvitationQueries, ResidentRightsQueries, CampaignUpdateQueries, CampaignResponseQueries),
    ),
    mutation=merge_types(
        "ResidentsMutation",
        (
            InvitationMutations,
            ResponseMutations,
            ResidentRightsMutations,
            CampaignUpdateMutations,
            CampaignResponseMutations,
        ),
    ),
)
