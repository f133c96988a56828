"""Staff reading a campaign's responses, and tagging a response with themes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.campaigns.types import AnswerType, ThemeType
from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id
from schema.lists import capped
from schema.loaders import Later
from schema.mutation import attempt
from schema.pagination import Connection, connection, page_request, selects
from schema.permissions import IsAuthenticated
from schema.residents.loaders import ResidentsLoaders
from server.residents import staff_responses
from server.residents.staff_responses import MAX_THEMES


async def _load_answers(info: Info, response_id: uuid.UUID) -> list[AnswerType]:
    rows = await info.context.loaders(ResidentsLoaders).answers.load(response_id)
    return [AnswerType.of(row) for row in rows]


async def _load_themes(info: Info, response_id: uuid.UUID) -> list[ThemeType]:
    rows = await info.context.loaders(ResidentsLoaders).themes.load(response_id)
    return [ThemeType.of(row) for row in rows]


@strawberry.type(name="CampaignResponse")
class CampaignResponseType:
    """A resident's response to a campaign, as staff read it: nothing that identifies
    the resident. Its relations are preloaded for a whole page (``preload_responses``),
    else loaded when asked for."""

    id: strawberry.ID
    submitted_at: datetime
    question_set_version: int
    rating: int | None = strawberry.field(description="0 to 10, when the resident gave one.")
    comment: str | None
    redacted_at: datetime | None
    answers: list[AnswerType] | Awaitable[list[AnswerType]] = strawberry.field(
        graphql_type=list[AnswerType]
    )
    themes: list[ThemeType] | Awaitable[list[ThemeType]] = strawberry.field(
        graphql_type=list[ThemeType], description="What staff tagged it with."
    )
    _id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Any, info: Info) -> CampaignResponseType:
        """From a row of staff_responses.RESPONSE_COLUMNS."""
        return cls(
            id=strawberry.ID(str(row.id)),
            submitted_at=row.submitted_at,
            question_set_version=row.question_set_version,
            rating=row.rating,
            comment=row.comment,
            redacted_at=row.redacted_at,
            answers=Later(_load_answers, info, row.id),
            themes=Later(_load_themes, info, row.id),
            _id=row.id,
        )


async def preload_responses(info: Info, nodes: list[CampaignResponseType], *path: str) -> None:
    """What the selection asks of each response, for the whole list in one statement each."""
    if not nodes:
        return
    loaders = info.context.loaders(ResidentsLoaders)
    ids = [n._id for n in nodes]
    if selects(info, *path, "answers"):
        for node, rows in zip(nodes, await loaders.answers.load_many(ids), strict=True):
            node.answers = [AnswerType.of(row) for row in rows]
    if selects(info, *path, "themes"):
        for node, rows in zip(nodes, await loaders.themes.load_many(ids), strict=True):
            node.themes = [ThemeType.of(row) for row in rows]


@strawberry.type
class SetResponseThemesPayload:
    response: CampaignResponseType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignResponseQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Residents' responses to a campaign the caller sees, newest first "
        "(empty for any other).",
    )
    async def campaign_responses(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[CampaignResponseType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        try:
            found = uuid.UUID(str(campaign_id))
        except ValueError:
            found = uuid.UUID(int=0)
        async with ctx.db() as session:
            page = await staff_responses.list_responses(
                session, ctx.require_actor(), found, request
            )
        nodes = {row.id: CampaignResponseType.of(row, info) for row in page.items}
        await preload_responses(info, list(nodes.values()), "edges", "node")
        return connection(ctx, page, lambda row: nodes[row.id])


@strawberry.type
class CampaignResponseMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins and senior organisers: tag a response with exactly these "
        "themes (new ones are created); the campaign's report counts them.",
    )
    async def set_response_themes(
        self,
        info: Info,
        response_id: strawberry.ID,
        themes: Annotated[
            list[str],
            strawberry.argument(
                description=f"At most {MAX_THEMES} themes; an empty list removes every theme."
            ),
        ],
    ) -> SetResponseThemesPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> sa.Row[Any]:
            return await staff_responses.set_response_themes(
                session,
                ctx.require_actor(),
                parse_id(response_id, "responseId", "response"),
                capped(themes, MAX_THEMES, "themes", "themes"),
            )

        row, errors = await attempt(ctx, work)
        return SetResponseThemesPayload(
            response=CampaignResponseType.of(row, info) if row is not None else None,
            user_errors=errors,
        )
