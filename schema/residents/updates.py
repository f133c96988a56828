"""Publishing a campaign update ("you said, we did") to the residents who asked to hear back."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id
from schema.mutation import attempt
from schema.permissions import IsAuthenticated
from server.residents import updates
from server.residents.models import CampaignUpdate


@strawberry.input
class CampaignUpdateInput:
    title: str = strawberry.field(description=f"At most {updates.MAX_TITLE} characters.")
    body: str = strawberry.field(description=f"At most {updates.MAX_BODY} characters.")


@strawberry.type(name="CampaignUpdate")
class CampaignUpdateType:
    id: strawberry.ID
    title: str
    body: str
    published_at: datetime
    recipient_count: int = strawberry.field(
        description="How many residents who asked to hear back were told (by email or SMS)."
    )

    @classmethod
    def of(cls, update: CampaignUpdate) -> CampaignUpdateType:
        return cls(
            id=strawberry.ID(str(update.id)),
            title=update.title,
            body=update.body,
            published_at=update.published_at,
            recipient_count=update.recipient_count,
        )


@strawberry.type
class PublishCampaignUpdatePayload:
    campaign_update: CampaignUpdateType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignUpdateQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description=f"A campaign's updates, newest first, at most {updates.MAX_LISTED}; "
        "empty for a campaign the caller cannot see.",
    )
    async def campaign_updates(
        self, info: Info, campaign_id: strawberry.ID
    ) -> list[CampaignUpdateType]:
        ctx = info.context
        try:
            found = uuid.UUID(str(campaign_id))
        except ValueError:
            return []
        async with ctx.db() as session:
            rows = await updates.list_updates(session, ctx.require_actor(), found)
        return [CampaignUpdateType.of(u) for u in rows]


@strawberry.type
class CampaignUpdateMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins and senior organisers: tell every resident of the campaign who "
        "asked to hear back what came of it, by email or SMS. The same update sent again "
        "returns the first and tells nobody twice.",
    )
    async def publish_campaign_update(
        self, info: Info, campaign_id: strawberry.ID, input: CampaignUpdateInput
    ) -> PublishCampaignUpdatePayload:
        ctx = info.context

        async def work(session: AsyncSession) -> CampaignUpdate:
            return await updates.publish_update(
                session,
                ctx.require_actor(),
                parse_id(campaign_id, "campaignId", "campaign"),
                input.title,
                input.body,
            )

        update, errors = await attempt(ctx, work)
        return PublishCampaignUpdatePayload(
            campaign_update=CampaignUpdateType.of(update) if update else None,
            user_errors=errors,
        )
