"""Queries and mutations of campaigns: reading, creating, questions, status, organisers."""

from __future__ import annotations

import uuid

import strawberry

from schema.campaigns.loaders import CampaignsLoaders
from schema.campaigns.types import CampaignType
from schema.context import Info
from schema.permissions import IsAuthenticated
from server.campaigns import campaigns


@strawberry.type
class CampaignQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A campaign the caller can see; null for any other.",
    )
    async def campaign(self, info: Info, id: strawberry.ID) -> CampaignType | None:
        ctx = info.context
        try:
            campaign_id = uuid.UUID(str(id))
        except ValueError:
            return None
        async with ctx.db() as session:
            row = await campaigns.get_campaign(session, ctx.require_actor(), campaign_id)
        if row is None:
            return None
        ctx.loaders(CampaignsLoaders).campaign.prime(row.id, row)
        return CampaignType.of(row)
