"""Queries and mutations of campaigns: reading, creating, questions, status, organisers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.accounts.loaders import AccountsLoaders
from schema.accounts.types import AreaType, UserType
from schema.campaigns.enums import CampaignKind, CampaignStatus, QuestionKind
from schema.campaigns.loaders import CampaignsLoaders
from schema.campaigns.types import CampaignType, QuestionSetType, ThemeType
from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id, parse_ids
from schema.lists import capped
from schema.mutation import attempt
from schema.pagination import Connection, connection, page_request, selects
from schema.permissions import IsAuthenticated
from server.campaigns import campaigns
from server.campaigns.models import Campaign, QuestionSet
from server.campaigns.questions import MAX_CHOICES, MAX_QUESTIONS, QuestionData
from server.core.pagination import Page

Row = sa.Row[Any]


@strawberry.input
class CampaignFilter:
    mine: bool | None = strawberry.field(
        default=None, description="Only the campaigns the caller is assigned to."
    )
    status: list[CampaignStatus] | None = strawberry.field(
        default=None, description="At most 3 statuses: only campaigns in one of these."
    )


@strawberry.input
class QuestionInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Keep a question of the current version (its answers stay comparable); "
        "omit it, or give one the version lacks, for a new question.",
    )
    kind: QuestionKind
    prompt: str
    choices: list[str] | None = strawberry.field(
        default=None,
        description=f"At most {MAX_CHOICES} choices, all different: SINGLE_CHOICE and "
        "MULTI_CHOICE only, at least 2.",
    )
    required: bool


@strawberry.input
class CreateCampaignInput:
    kind: CampaignKind
    title: str
    description: str | None = None
    area_id: strawberry.ID | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    target_conversations: int | None = None
    organiser_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="At most 100 active members of the organisation."
    )
    questions: list[QuestionInput] | None = strawberry.field(
        default=None, description=f"At most {MAX_QUESTIONS} questions."
    )


@strawberry.type
class CreateCampaignPayload:
    campaign: CampaignType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateQuestionSetPayload:
    question_set: QuestionSetType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SetCampaignStatusPayload:
    campaign: CampaignType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AssignOrganisersPayload:
    campaign: CampaignType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _question_data(items: Sequence[QuestionInput] | None) -> list[QuestionData]:
    return [
        QuestionData(
            kind=q.kind,
            prompt=q.prompt,
            required=q.required,
            choices=q.choices,
            id=str(q.id) if q.id is not None else None,
        )
        for q in items or ()
    ]


async def _page_nodes(info: Info, rows: list[Row]) -> dict[uuid.UUID, CampaignType]:
    """The page's campaigns, with what the selection asks of every one of them loaded for
    the whole page in one statement each and handed over (docs/decisions/0009)."""
    ctx = info.context
    loaders = ctx.loaders(CampaignsLoaders)
    nodes: dict[uuid.UUID, CampaignType] = {}
    for row in rows:
        loaders.campaign.prime(row.id, row)
        nodes[row.id] = CampaignType.of(row)
    ids = list(nodes)
    if not ids:
        return nodes

    def asks(name: str) -> bool:
        return selects(info, "edges", "node", name)

    if asks("organisers"):
        for node, users in zip(
            nodes.values(), await loaders.organisers.load_many(ids), strict=True
        ):
            node._organisers = [UserType.of(u) for u in users]
    if asks("questionSet") or asks("questionSetVersion"):
        found = await loaders.question_sets.load_many(ids)
        for node, versions in zip(nodes.values(), found, strict=True):
            node._question_sets = versions
    if asks("themes"):
        found = await loaders.campaign_themes.load_many(ids)
        for node, themes in zip(nodes.values(), found, strict=True):
            node._themes = [ThemeType.of(t) for t in themes]
    area_ids = list(dict.fromkeys(n._area_id for n in nodes.values() if n._area_id is not None))
    if area_ids and asks("area"):
        areas = await ctx.loaders(AccountsLoaders).area.load_many(area_ids)
        by_id = {a.id: AreaType.of(a) for a in areas if a is not None}
        for node in nodes.values():
            if node._area_id is not None:
                node._area = by_id.get(node._area_id)
    return nodes


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

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Campaigns the caller can see, by title: admins and senior organisers "
        "see every campaign of the organisation, organisers and trainers those they are "
        "assigned to.",
    )
    async def campaigns(
        self,
        info: Info,
        filter: CampaignFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[CampaignType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        statuses = None
        if filter is not None and filter.status is not None:
            statuses = capped(filter.status, len(CampaignStatus), "filter.status", "statuses")
        async with ctx.db() as session:
            page: Page[Row] = await campaigns.list_campaigns(
                session,
                ctx.require_actor(),
                request,
                mine=bool(filter and filter.mine),
                statuses=statuses,
            )
        nodes = await _page_nodes(info, page.items)
        return connection(ctx, page, lambda row: nodes[row.id])


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins and senior organisers: a DRAFT campaign with version 1 of its "
        "questions.",
    )
    async def create_campaign(
        self, info: Info, input: CreateCampaignInput
    ) -> CreateCampaignPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> Campaign:
            data = campaigns.NewCampaign(
                kind=input.kind,
                title=input.title,
                description=input.description,
                area_id=parse_id(input.area_id, "input.areaId", "area")
                if input.area_id is not None
                else None,
                starts_on=input.starts_on,
                ends_on=input.ends_on,
                target_conversations=input.target_conversations,
                organiser_ids=parse_ids(input.organiser_ids, "input.organiserIds", "member"),
                questions=_question_data(input.questions),
            )
            return await campaigns.create_campaign(session, ctx.require_actor(), data)

        campaign, errors = await attempt(ctx, work)
        return CreateCampaignPayload(
            campaign=CampaignType.of(campaign) if campaign else None, user_errors=errors
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins and senior organisers: replace the questions (at most "
        f"{MAX_QUESTIONS}). Unanswered, the current version changes in place; once "
        "answered, this makes a new version and the old one stays readable.",
    )
    async def update_question_set(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        questions: Annotated[
            list[QuestionInput],
            strawberry.argument(description=f"At most {MAX_QUESTIONS} questions."),
        ],
    ) -> UpdateQuestionSetPayload:
        ctx = info.context
        data = _question_data(questions)

        async def work(session: AsyncSession) -> QuestionSet:
            found = parse_id(campaign_id, "campaignId", "campaign")
            return await campaigns.update_question_set(session, ctx.require_actor(), found, data)

        question_set, errors = await attempt(ctx, work)
        return UpdateQuestionSetPayload(
            question_set=QuestionSetType.of(question_set) if question_set else None,
            user_errors=errors,
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins and senior organisers: DRAFT -> ACTIVE -> CLOSED, one step at a "
        "time (anything else is INVALID; the current status again, ALREADY_DONE). "
        "Activating tells the assigned organisers.",
    )
    async def set_campaign_status(
        self, info: Info, id: strawberry.ID, status: CampaignStatus
    ) -> SetCampaignStatusPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> Campaign:
            found = parse_id(id, "id", "campaign")
            return await campaigns.set_campaign_status(session, ctx.require_actor(), found, status)

        campaign, errors = await attempt(ctx, work)
        return SetCampaignStatusPayload(
            campaign=CampaignType.of(campaign) if campaign else None, user_errors=errors
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins and senior organisers: the campaign's organisers become exactly "
        "these (at most 100 active members); on an ACTIVE campaign the newly added are told.",
    )
    async def assign_organisers(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        user_ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="At most 100 members.")
        ],
    ) -> AssignOrganisersPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> Campaign:
            found = parse_id(campaign_id, "campaignId", "campaign")
            ids = parse_ids(user_ids, "userIds", "member")
            return await campaigns.assign_organisers(session, ctx.require_actor(), found, ids)

        campaign, errors = await attempt(ctx, work)
        return AssignOrganisersPayload(
            campaign=CampaignType.of(campaign) if campaign else None, user_errors=errors
        )
