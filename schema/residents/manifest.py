"""What the residents domain adds to the schema root (schema.root)."""

from strawberry.tools import merge_types

from schema.part import SchemaPart
from schema.residents.rights import ResidentRightsMutations, ResidentRightsQueries

PART = SchemaPart(
    query=merge_types("ResidentsQuery", (ResidentRightsQueries,)),
    mutation=merge_types("ResidentsMutation", (ResidentRightsMutations,)),
)
