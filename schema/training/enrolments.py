"""Mutations of enrolments: enrolling, withdrawing, signing off competencies."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError
from schema.ids import parse_id
from schema.mutation import attempt
from schema.permissions import IsAuthenticated
from schema.training.types import EnrolmentType
from server.training import enrolments, signoffs
from server.training.enrolments import NewEnrolment
from server.training.models import Enrolment


@strawberry.input
class EnrolTraineeInput:
    cohort_id: strawberry.ID
    user_id: strawberry.ID | None = None
    email: str | None = None
    display_name: str | None = None


@strawberry.input
class SignOffCompetencyInput:
    enrolment_id: strawberry.ID
    competency_id: strawberry.ID
    evidence: str | None = None


@strawberry.type
class EnrolmentPayload:
    enrolment: EnrolmentType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _payload(enrolment: Enrolment | None, errors: list[UserError]) -> EnrolmentPayload:
    return EnrolmentPayload(
        enrolment=EnrolmentType.of(enrolment) if enrolment else None, user_errors=errors
    )


@strawberry.type
class EnrolmentMutations:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Trainers of the cohort and admins: a member by userId, or a new "
        "person by email and displayName (an ORGANISER account, invited to set a "
        "password). Someone already enrolled: their enrolment, unchanged.",
    )
    async def enrol_trainee(self, info: Info, input: EnrolTraineeInput) -> EnrolmentPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> Enrolment:
            data = NewEnrolment(
                cohort_id=parse_id(input.cohort_id, "input.cohortId", "cohort"),
                user_id=parse_id(input.user_id, "input.userId", "member")
                if input.user_id is not None
                else None,
                email=input.email,
                display_name=input.display_name,
            )
            return await enrolments.enrol_trainee(session, ctx.services, ctx.require_actor(), data)

        return _payload(*await attempt(ctx, work))

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Trainers of the cohort and admins: the trainee leaves (WITHDRAWN, "
        "with when and why); a withdrawn trainee never completes.",
    )
    async def withdraw_trainee(
        self, info: Info, enrolment_id: strawberry.ID, reason: str | None = None
    ) -> EnrolmentPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> Enrolment:
            found = parse_id(enrolment_id, "enrolmentId", "enrolment")
            return await enrolments.withdraw_trainee(session, ctx.require_actor(), found, reason)

        return _payload(*await attempt(ctx, work))

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Trainers of the cohort and admins: a competency signed off with "
        "evidence (signed already: the first sign-off stays). The last condition met "
        "completes the enrolment.",
    )
    async def sign_off_competency(
        self, info: Info, input: SignOffCompetencyInput
    ) -> EnrolmentPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> Enrolment:
            return await signoffs.sign_off(
                session,
                ctx.require_actor(),
                parse_id(input.enrolment_id, "input.enrolmentId", "enrolment"),
                parse_id(input.competency_id, "input.competencyId", "competency"),
                input.evidence,
            )

        return _payload(*await attempt(ctx, work))
