"""The follow-ups query and mutations: a thin layer over server/campaigns/followups.py."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.campaigns.enums import FollowUpStatus
from schema.campaigns.types import FollowUpType
from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id
from schema.lists import capped
from schema.mutation import attempt
from schema.pagination import Connection, connection, page_request
from schema.permissions import IsAuthenticated
from server.campaigns import followups
from server.campaigns.models import FollowUp


@strawberry.input
class FollowUpFilter:
    mine: bool | None = strawberry.field(
        default=None, description="Only those assigned to the caller."
    )
    status: list[FollowUpStatus] | None = strawberry.field(
        default=None, description="At most 3 statuses: only follow-ups in one of these."
    )


@strawberry.input
class CreateFollowUpInput:
    id: strawberry.ID = strawberry.field(
        description="Made by the app, so that a retried create is stored once."
    )
    campaign_id: strawberry.ID
    conversation_id: strawberry.ID | None = None
    resident_id: strawberry.ID | None = None
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Null: the caller; otherwise one of the campaign's organisers."
    )
    due_at: datetime
    note: str | None = None


@strawberry.type
class FollowUpPayload:
    follow_up: FollowUpType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, follow_up: FollowUp | None, errors: list[UserError]) -> FollowUpPayload:
        return cls(follow_up=FollowUpType.of(follow_up) if follow_up else None, user_errors=errors)


def _id_or_none(value: strawberry.ID | None, field: str, what: str) -> uuid.UUID | None:
    return parse_id(value, field, what) if value is not None else None


@strawberry.type
class FollowUpQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Follow-ups, soonest due first. mine: assigned to the caller; otherwise "
        "staff see the organisation's, others those of the campaigns assigned to them.",
    )
    async def follow_ups(
        self,
        info: Info,
        filter: FollowUpFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[FollowUpType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        actor = ctx.require_actor()
        async with ctx.db() as session:
            page = await followups.list_follow_ups(
                session,
                actor,
                request,
                mine=bool(filter and filter.mine),
                statuses=capped(filter.status, 3, "filter.status", "statuses")
                if filter and filter.status
                else None,
            )
        return connection(ctx, page, FollowUpType.of)


@strawberry.type
class FollowUpMutations:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def create_follow_up(self, info: Info, input: CreateFollowUpInput) -> FollowUpPayload:
        ctx = info.context
        actor = ctx.require_actor()

        async def work(session: AsyncSession) -> FollowUp:
            new = followups.NewFollowUp(
                id=parse_id(input.id, "input.id", "follow-up"),
                campaign_id=parse_id(input.campaign_id, "input.campaignId", "campaign"),
                conversation_id=_id_or_none(
                    input.conversation_id, "input.conversationId", "conversation"
                ),
                resident_id=_id_or_none(input.resident_id, "input.residentId", "resident"),
                assignee_id=_id_or_none(input.assignee_id, "input.assigneeId", "organiser"),
                due_at=input.due_at,
                note=input.note,
            )
            return await followups.create_follow_up(session, actor, new)

        follow_up, errors = await attempt(ctx, work)
        return FollowUpPayload.of(follow_up, errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def complete_follow_up(
        self, info: Info, id: strawberry.ID, outcome: str | None = None
    ) -> FollowUpPayload:
        ctx = info.context
        actor = ctx.require_actor()
        follow_up, errors = await attempt(
            ctx,
            lambda s: followups.complete_follow_up(
                s, actor, parse_id(id, "id", "follow-up"), outcome
            ),
        )
        return FollowUpPayload.of(follow_up, errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def cancel_follow_up(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> FollowUpPayload:
        ctx = info.context
        actor = ctx.require_actor()
        follow_up, errors = await attempt(
            ctx,
            lambda s: followups.cancel_follow_up(s, actor, parse_id(id, "id", "follow-up"), reason),
        )
        return FollowUpPayload.of(follow_up, errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def reschedule_follow_up(
        self, info: Info, id: strawberry.ID, due_at: datetime
    ) -> FollowUpPayload:
        ctx = info.context
        actor = ctx.require_actor()
        follow_up, errors = await attempt(
            ctx,
            lambda s: followups.reschedule_follow_up(
                s, actor, parse_id(id, "id", "follow-up"), due_at
            ),
        )
        return FollowUpPayload.of(follow_up, errors)
