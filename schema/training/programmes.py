"""Queries and mutations of programmes: reading them, creating them."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError
from schema.mutation import attempt
from schema.pagination import Connection, connection, page_request
from schema.permissions import IsAuthenticated
from schema.training.loaders import TrainingLoaders, visible_row
from schema.training.types import ProgrammeType
from server.core.pagination import Page
from server.training import programmes
from server.training.models import Programme
from server.training.programmes import MAX_COMPETENCIES, CompetencyData, NewProgramme


@strawberry.input
class CompetencyInput:
    code: str = strawberry.field(description="Unique in the programme (ignoring case).")
    title: str


@strawberry.input
class CreateProgrammeInput:
    name: str
    target_trainees: int
    target_date: date
    target_conversations_per_trainee: int | None = strawberry.field(
        default=None, description="0 or null: no conversation target."
    )
    competencies: list[CompetencyInput] = strawberry.field(
        description=f"At most {MAX_COMPETENCIES} competencies, in order."
    )


@strawberry.type
class CreateProgrammePayload:
    programme: ProgrammeType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProgrammeQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A programme of the caller's organisation (admins, trainers, senior "
        "organisers); null for any other.",
    )
    async def programme(self, info: Info, id: strawberry.ID) -> ProgrammeType | None:
        ctx = info.context
        loader = ctx.loaders(TrainingLoaders).programme
        row = await visible_row(ctx, id, programmes.get_programme, loader)
        return ProgrammeType.of(row) if row is not None else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The organisation's programmes by name (admins, trainers, senior "
        "organisers; empty for anyone else).",
    )
    async def programmes(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Connection[ProgrammeType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page: Page[sa.Row[tuple[object, ...]]] = await programmes.list_programmes(
                session, ctx.require_actor(), request
            )
        return connection(ctx, page, ProgrammeType.of)


@strawberry.type
class ProgrammeMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins: a programme with its targets and competency framework.",
    )
    async def create_programme(
        self, info: Info, input: CreateProgrammeInput
    ) -> CreateProgrammePayload:
        ctx = info.context
        data = NewProgramme(
            name=input.name,
            target_trainees=input.target_trainees,
            target_date=input.target_date,
            target_conversations_per_trainee=input.target_conversations_per_trainee,
            competencies=[CompetencyData(c.code, c.title) for c in input.competencies],
        )

        async def work(session: AsyncSession) -> Programme:
            return await programmes.create_programme(session, ctx.require_actor(), data)

        programme, errors = await attempt(ctx, work)
        return CreateProgrammePayload(
            programme=ProgrammeType.of(programme) if programme else None, user_errors=errors
        )
