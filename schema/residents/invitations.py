"""Creating invitations (staff) and opening one by its token (public)."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError, user_errors
from schema.ids import parse_id
from schema.mutation import attempt
from schema.permissions import IsAuthenticated
from schema.residents.inputs import CreateInvitationsInput
from schema.residents.public import require_allowed
from schema.residents.types import InvitationType, PublicInvitationType
from server.core.errors import UserError as DomainUserError
from server.residents import invitations


@strawberry.type
class CreateInvitationsPayload:
    invitations: list[InvitationType] = strawberry.field(default_factory=list)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InvitationQueries:
    @strawberry.field(
        description="What an invitation token opens (no sign-in: the token is the key); "
        "null for an unknown or expired token alike. Rate limited per address and token."
    )
    async def invitation(self, info: Info, token: str) -> PublicInvitationType | None:
        ctx = info.context
        await require_allowed(ctx, token)
        async with ctx.db() as session:
            found = await invitations.open_invitation(session, token)
        return PublicInvitationType.of(found) if found else None


@strawberry.type
class InvitationMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins and senior organisers: LINK makes `count` links to share or "
        "print; SMS and EMAIL are sent by the workers to the residents named, each only "
        "with consent to be contacted again and that detail (any other is a userError on "
        "its input.residentIds.N, and the rest are still invited).",
    )
    async def create_invitations(
        self, info: Info, input: CreateInvitationsInput
    ) -> CreateInvitationsPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> invitations.CreatedInvitations:
            data = invitations.InvitationsData(
                campaign_id=parse_id(input.campaign_id, "input.campaignId", "campaign"),
                channel=input.channel,
                count=input.count,
                resident_ids=[str(i) for i in input.resident_ids]
                if input.resident_ids is not None
                else None,
                expires_in_days=input.expires_in_days,
            )
            return await invitations.create_invitations(
                session, ctx.services.settings, ctx.require_actor(), data
            )

        created, errors = await attempt(ctx, work)
        if created is None:
            return CreateInvitationsPayload(user_errors=errors)
        refused = user_errors(DomainUserError(*created.problems)) if created.problems else []
        return CreateInvitationsPayload(
            invitations=[InvitationType.of(i, url) for i, url in created.invitations],
            user_errors=refused,
        )
