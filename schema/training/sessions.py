"""Scheduling, moving and cancelling training sessions, and a cohort's sessions: a thin
layer over server/training/sessions.py."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id
from schema.mutation import attempt
from schema.pagination import Connection, connection, page_request
from schema.permissions import IsAuthenticated
from schema.training.session_types import TrainingSessionType
from server.training import sessions
from server.training.models import TrainingSession


async def cohort_sessions(
    info: Info, cohort_id: uuid.UUID, first: int | None, after: str | None
) -> Connection[TrainingSessionType]:
    """Cohort.trainingSessions: the cohort was read for this caller, so it is visible."""
    ctx = info.context
    request = page_request(ctx, first, after)
    actor = ctx.require_actor()
    async with ctx.db() as session:
        page = await sessions.list_sessions(session, actor.organisation_id, cohort_id, request)
    return connection(ctx, page, TrainingSessionType.of)


@strawberry.input
class ScheduleTrainingSessionInput:
    cohort_id: strawberry.ID
    title: str
    starts_at: datetime
    ends_at: datetime = strawberry.field(description="After startsAt.")
    location: str | None = None
    online_url: str | None = None


@strawberry.type
class TrainingSessionPayload:
    training_session: TrainingSessionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(
        cls, training: TrainingSession | None, errors: list[UserError]
    ) -> TrainingSessionPayload:
        return cls(
            training_session=TrainingSessionType.of(training) if training else None,
            user_errors=errors,
        )


@strawberry.type
class TrainingSessionMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A trainer of the cohort, or an admin. The cohort's active trainees are "
        "reminded 24 hours and 1 hour before it starts (those still ahead).",
    )
    async def schedule_training_session(
        self, info: Info, input: ScheduleTrainingSessionInput
    ) -> TrainingSessionPayload:
        ctx = info.context
        actor = ctx.require_actor()

        async def work(session: AsyncSession) -> TrainingSession:
            new = sessions.NewSession(
                cohort_id=parse_id(input.cohort_id, "input.cohortId", "cohort"),
                title=input.title,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                location=input.location,
                online_url=input.online_url,
            )
            return await sessions.schedule_session(session, actor, new)

        training, errors = await attempt(ctx, work)
        return TrainingSessionPayload.of(training, errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Moves its reminders too and tells the cohort's active trainees.",
    )
    async def move_training_session(
        self, info: Info, id: strawberry.ID, starts_at: datetime, ends_at: datetime
    ) -> TrainingSessionPayload:
        ctx = info.context
        actor = ctx.require_actor()
        training, errors = await attempt(
            ctx,
            lambda s: sessions.move_session(
                s, actor, parse_id(id, "id", "training session"), starts_at, ends_at
            ),
        )
        return TrainingSessionPayload.of(training, errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Sets cancelledAt (the session stays, counting for nobody), cancels its "
        "reminders and tells the cohort's active trainees.",
    )
    async def cancel_training_session(
        self, info: Info, id: strawberry.ID
    ) -> TrainingSessionPayload:
        ctx = info.context
        actor = ctx.require_actor()
        training, errors = await attempt(
            ctx,
            lambda s: sessions.cancel_session(s, actor, parse_id(id, "id", "training session")),
        )
        return TrainingSessionPayload.of(training, errors)
