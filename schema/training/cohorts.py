"""Queries and mutations of cohorts: reading them, creating them."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id, parse_ids
from schema.mutation import attempt
from schema.pagination import Connection, page_request
from schema.permissions import IsAuthenticated
from schema.training.loaders import TrainingLoaders, visible_row
from schema.training.types import CohortType, cohort_connection
from server.core.pagination import Page
from server.training import cohorts
from server.training.cohorts import MAX_TRAINERS, NewCohort
from server.training.models import Cohort


@strawberry.input
class CohortFilter:
    mine: bool | None = strawberry.field(
        default=None, description="Only the cohorts the caller trains or is enrolled in."
    )


@strawberry.input
class CreateCohortInput:
    programme_id: strawberry.ID
    name: str
    starts_on: date
    ends_on: date
    trainer_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description=f"At most {MAX_TRAINERS} trainers or senior organisers; a trainer "
        "who creates the cohort trains it.",
    )


@strawberry.type
class CreateCohortPayload:
    cohort: CohortType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CohortQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A cohort the caller trains or is enrolled in (admins: any of the "
        "organisation); null for any other.",
    )
    async def cohort(self, info: Info, id: strawberry.ID) -> CohortType | None:
        ctx = info.context
        loader = ctx.loaders(TrainingLoaders).cohort
        row = await visible_row(ctx, id, cohorts.get_cohort, loader)
        return CohortType.of(row) if row is not None else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Cohorts the caller sees, by start: admins every cohort of the "
        "organisation, others those they train or are enrolled in.",
    )
    async def cohorts(
        self,
        info: Info,
        filter: CohortFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[CohortType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page: Page[sa.Row[Any]] = await cohorts.list_cohorts(
                session, ctx.require_actor(), request, mine=bool(filter and filter.mine)
            )
        return cohort_connection(info, page)


@strawberry.type
class CohortMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins, trainers and senior organisers: a cohort of a programme.",
    )
    async def create_cohort(self, info: Info, input: CreateCohortInput) -> CreateCohortPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> Cohort:
            data = NewCohort(
                programme_id=parse_id(input.programme_id, "input.programmeId", "programme"),
                name=input.name,
                starts_on=input.starts_on,
                ends_on=input.ends_on,
                trainer_ids=parse_ids(
                    input.trainer_ids, "input.trainerIds", "member", limit=MAX_TRAINERS
                ),
            )
            return await cohorts.create_cohort(session, ctx.require_actor(), data)

        cohort, errors = await attempt(ctx, work)
        return CreateCohortPayload(
            cohort=CohortType.of(cohort) if cohort else None, user_errors=errors
        )
