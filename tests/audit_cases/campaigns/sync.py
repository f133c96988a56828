"""Audit cases of the campaigns domain: synced conversations."""

from __future__ import annotations

import uuid

from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from tests.audit_cases import Expected, Run
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org


async def sync_conversations(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    organiser = org.members[Role.ORGANISER].id
    (campaign,) = await add_campaigns(services, org, ["Audited sync"], organisers=[organiser])
    item = {
        "id": str(uuid.uuid4()),
        "campaignId": str(campaign.id),
        "occurredAt": utcnow().isoformat(),
        "questionSetVersion": 1,
        "answers": [],
        "themes": ["Bins"],
    }
    data = await gql.op(
        "SyncConversations", {"input": {"conversations": [item]}}, token=org.token(Role.ORGANISER)
    )
    assert data["syncConversations"]["results"][0]["status"] == "CREATED"
    return Expected("conversations.sync", "Conversation", None, organiser)


CASES: dict[str, Run] = {"syncConversations": sync_conversations}
