"""Conversations: the offline upload, the download of changes, one conversation, and the
residents list."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from schema.campaigns.enums import SyncStatus
from schema.campaigns.types import ConversationType, ResidentType, preload_conversations
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.fast_inputs import fast_input
from schema.pagination import Connection, connection, page_request
from schema.permissions import IsAuthenticated
from server.campaigns import conversations, residents, sync
from server.campaigns.answers import AnswerData
from server.core.errors import UserError as DomainUserError


@strawberry.input(description="Exactly one of text / number / choices, as the question's kind.")
class AnswerInput:
    question_id: strawberry.ID
    text: str | None = None
    number: int | None = None
    choices: list[str] | None = strawberry.field(
        default=None, description="At most 20 choices, each one of the question's."
    )


@strawberry.input(description="What the person agreed to, when, as told to them.")
class ConsentInput:
    store_details: bool
    contact_again: bool
    hear_back: bool
    recorded_at: datetime


@strawberry.input
class ResidentInput:
    id: strawberry.ID
    consent: ConsentInput
    name: str | None = None
    postcode: str | None = None
    email: str | None = None
    phone: str | None = None


@strawberry.input
class FollowUpInput:
    id: strawberry.ID
    due_at: datetime
    note: str | None = None


@strawberry.input
class GeoPointInput:
    latitude: float
    longitude: float
    accuracy_meters: float | None = None


@strawberry.input
class ConversationInput:
    id: strawberry.ID
    campaign_id: strawberry.ID
    occurred_at: datetime
    question_set_version: int
    answers: list[AnswerInput] = strawberry.field(
        description="At most 50 answers, one per question of the version."
    )
    themes: list[str] = strawberry.field(description="At most 20 themes, as typed.")
    base_version: int | None = None
    interest_level: int | None = None
    wants_involvement: bool | None = None
    notes: str | None = None
    location: GeoPointInput | None = None
    resident: ResidentInput | None = None
    follow_up: FollowUpInput | None = None

    def data(self) -> sync.ConversationData:
        resident = self.resident
        return sync.ConversationData(
            id=str(self.id),
            campaign_id=str(self.campaign_id),
            occurred_at=self.occurred_at,
            question_set_version=self.question_set_version,
            answers=[
                AnswerData(str(a.question_id), a.text, a.number, a.choices) for a in self.answers
            ],
            themes=list(self.themes),
            base_version=self.base_version,
            interest_level=self.interest_level,
            wants_involvement=self.wants_involvement,
            notes=self.notes,
            latitude=self.location.latitude if self.location else None,
            longitude=self.location.longitude if self.location else None,
            accuracy_meters=self.location.accuracy_meters if self.location else None,
            resident=residents.ResidentData(
                id=str(resident.id),
                consent=residents.ConsentData(
                    store_details=resident.consent.store_details,
                    contact_again=resident.consent.contact_again,
                    hear_back=resident.consent.hear_back,
                    recorded_at=resident.consent.recorded_at,
                ),
                name=resident.name,
                postcode=resident.postcode,
                email=resident.email,
                phone=resident.phone,
            )
            if resident
            else None,
            follow_up=sync.FollowUpData(
                str(self.follow_up.id), self.follow_up.due_at, self.follow_up.note
            )
            if self.follow_up
            else None,
        )


# Hundreds of these arrive in one request: built without Strawberry's per-value work.
fast_input(ConversationInput)


@strawberry.input
class SyncConversationsInput:
    conversations: list[ConversationInput] = strawberry.field(
        description=f"At most {sync.MAX_ITEMS} conversations."
    )
    installation_id: strawberry.ID | None = None


@strawberry.type
class SyncItemResult:
    id: strawberry.ID
    status: SyncStatus
    version: int | None
    conversation: ConversationType | None = strawberry.field(
        description="What the server now holds (on CONFLICT: its copy, to merge and resend)."
    )
    user_errors: list[UserError]


@strawberry.type
class SyncConversationsPayload:
    server_time: datetime = strawberry.field(
        description="Pass it back as `since` to ConversationChanges: nothing committed "
        "after it is missed."
    )
    results: list[SyncItemResult]


@strawberry.input
class ConversationFilter:
    campaign_id: strawberry.ID
    updated_since: datetime | None = None


@strawberry.input
class ResidentFilter:
    search: str | None = None


def _item(result: sync.ItemResult, conversation: ConversationType | None) -> SyncItemResult:
    errors = user_errors(DomainUserError(*result.problems)) if result.problems else []
    return SyncItemResult(
        id=strawberry.ID(result.id),
        status=result.status,
        version=result.version,
        conversation=conversation,
        user_errors=errors,
    )


@strawberry.type
class ConversationQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A campaign's conversations changed since a time (every one when "
        "updatedSince is null), other organisers' included, oldest change first.",
    )
    async def conversations(
        self,
        info: Info,
        filter: ConversationFilter,
        first: int | None = 200,
        after: str | None = None,
    ) -> Connection[ConversationType]:
        ctx = info.context
        request = page_request(ctx, first, after, limit=500, default=200)
        try:
            campaign_id = uuid.UUID(str(filter.campaign_id))
        except ValueError:
            campaign_id = uuid.UUID(int=0)
        async with ctx.db() as session:
            page = await conversations.list_changes(
                session, ctx.require_actor(), campaign_id, filter.updated_since, request
            )
        nodes = {row.id: ConversationType.of(row, info) for row in page.items}
        await preload_conversations(info, list(nodes.values()), "edges", "node")
        return connection(ctx, page, lambda row: nodes[row.id])

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def conversation(self, info: Info, id: strawberry.ID) -> ConversationType | None:
        ctx = info.context
        try:
            conversation_id = uuid.UUID(str(id))
        except ValueError:
            return None
        async with ctx.db() as session:
            row = await conversations.get_conversation(
                session, ctx.require_actor(), conversation_id
            )
        return ConversationType.of(row, info) if row else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Residents of the organisation; admins and senior organisers only.",
    )
    async def residents(
        self,
        info: Info,
        filter: ResidentFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[ResidentType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page = await residents.list_residents(
                session, ctx.require_actor(), request, filter.search if filter else None
            )
        return connection(ctx, page, lambda row: ResidentType.of(row, contact=True))


@strawberry.type
class ConversationMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description=f"Upload up to {sync.MAX_ITEMS} conversations, each applied on its own.",
    )
    async def sync_conversations(
        self, info: Info, input: SyncConversationsInput
    ) -> SyncConversationsPayload:
        ctx = info.context
        items = [c.data() for c in input.conversations]
        async with ctx.db() as session:
            result = await sync.sync_conversations(
                session, ctx.services, ctx.require_actor(), items
            )
        nodes = [
            ConversationType.of(r.conversation, info) if r.conversation else None
            for r in result.results
        ]
        await preload_conversations(
            info, [n for n in nodes if n is not None], "results", "conversation"
        )
        return SyncConversationsPayload(
            server_time=result.server_time,
            results=[_item(r, n) for r, n in zip(result.results, nodes, strict=True)],
        )
