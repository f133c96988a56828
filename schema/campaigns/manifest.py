"""What the campaigns domain adds to the schema root (schema.root)."""

from strawberry.tools import merge_types

from schema.campaigns.campaigns import CampaignMutations, CampaignQueries
from schema.campaigns.conversations import ConversationMutations, ConversationQueries
from schema.campaigns.events import EventMutations
from schema.campaigns.followups import FollowUpMutations, FollowUpQueries
from schema.part import SchemaPart

PART = SchemaPart(
    query=merge_types("CampaignsQuery", (CampaignQueries, ConversationQueries, FollowUpQueries)),
    mutation=merge_types(
        "CampaignsMutation",
        (CampaignMutations, ConversationMutations, FollowUpMutations, EventMutations),
    ),
)
