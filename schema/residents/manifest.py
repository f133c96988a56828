"""What the residents domain adds to the schema root (schema.root)."""

from strawberry.tools import merge_types

from schema.part import SchemaPart
from schema.residents.responses import CampaignResponseMutations, CampaignResponseQueries
from schema.residents.updates import CampaignUpdateMutations, CampaignUpdateQueries

PART = SchemaPart(
    query=merge_types("ResidentsQuery", (CampaignUpdateQueries, CampaignResponseQueries)),
    mutation=merge_types("ResidentsMutation", (CampaignUpdateMutations, CampaignResponseMutations)),
)
