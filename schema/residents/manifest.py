"""What the residents domain adds to the schema root (schema.root)."""

from strawberry.tools import merge_types

from schema.part import SchemaPart
from schema.residents.invitations import InvitationMutations, InvitationQueries
from schema.residents.responses import ResponseMutations
from schema.residents.rights import ResidentRightsMutations, ResidentRightsQueries

PART = SchemaPart(
    query=merge_types("ResidentsQuery", (InvitationQueries, ResidentRightsQueries)),
    mutation=merge_types(
        "ResidentsMutation", (InvitationMutations, ResponseMutations, ResidentRightsMutations)
    ),
)
