"""GraphQL types of programmes, competencies, cohorts, enrolments and progress.

Each type is built by ``Type.of(row)`` from a plain row of the columns in
``server/training/columns.py``; relations and figures come from the request's
TrainingLoaders, so a page of any size costs the same statements (docs/decisions/0009).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import strawberry

from schema.accounts.loaders import AccountsLoaders
from schema.accounts.types import UserType
from schema.context import Info
from schema.pagination import Connection, connection, page_request, selects
from schema.training.enums import EnrolmentStatus
from schema.training.loaders import TrainingLoaders
from schema.training.session_types import TrainingSessionType
from schema.training.sessions import cohort_sessions
from server.core.pagination import Page
from server.training import cohorts, enrolments, progress, stats
from server.training.access import PROGRAMME_VIEWERS

Row = sa.Row[Any]


@strawberry.type(name="Competency")
class CompetencyType:
    id: strawberry.ID
    code: str
    title: str
    position: int = strawberry.field(description="Its place in the framework, from 0.")

    @classmethod
    def of(cls, row: Any) -> CompetencyType:
        return cls(
            id=strawberry.ID(str(row.id)), code=row.code, title=row.title, position=row.position
        )


@strawberry.type(name="ProgrammeProgress")
class ProgrammeProgressType:
    trainee_count: int
    active_count: int
    completed_count: int
    withdrawn_count: int
    projected_completed_count: int = strawberry.field(
        description="Completions so far plus the completion rate per day since the first "
        "cohort started, times the days left to the target date (rounded down)."
    )
    on_track: bool = strawberry.field(description="projectedCompletedCount >= targetTrainees.")

    @classmethod
    def of(cls, p: stats.ProgrammeProgress) -> ProgrammeProgressType:
        return cls(
            trainee_count=p.trainee_count,
            active_count=p.active_count,
            completed_count=p.completed_count,
            withdrawn_count=p.withdrawn_count,
            projected_completed_count=p.projected_completed_count,
            on_track=p.on_track,
        )


@strawberry.type(name="CohortStats")
class CohortStatsType:
    trainee_count: int
    active_count: int
    completed_count: int
    withdrawn_count: int
    on_track_count: int = strawberry.field(description="Active trainees on track.")
    behind_count: int = strawberry.field(description="Active trainees behind.")

    @classmethod
    def of(cls, s: stats.CohortStats) -> CohortStatsType:
        return cls(
            trainee_count=s.trainee_count,
            active_count=s.active_count,
            completed_count=s.completed_count,
            withdrawn_count=s.withdrawn_count,
            on_track_count=s.on_track_count,
            behind_count=s.behind_count,
        )


@strawberry.type(name="TraineeProgress")
class TraineeProgressType:
    sessions_held: int = strawberry.field(description="Sessions not cancelled that have ended.")
    sessions_attended: int = strawberry.field(description="Held sessions marked PRESENT.")
    attendance_rate: float | None = strawberry.field(
        description="Attended of held, 0 to 1; null while none has been held."
    )
    competencies_signed: int
    competencies_total: int
    conversations_logged: int = strawberry.field(
        description="Listening conversations in ACTIVE or CLOSED campaigns since the "
        "cohort started."
    )
    target_conversations: int | None = strawberry.field(
        description="The programme's per-trainee target; null when it sets none."
    )
    expected_conversations: int = strawberry.field(
        description="The target at the share of the cohort's days elapsed, rounded down."
    )
    on_track: bool = strawberry.field(
        description="Attended at least 75% of the sessions held (or none held yet) and "
        "logged at least expectedConversations; COMPLETED is on track, WITHDRAWN never."
    )
    behind_reasons: list[str] = strawberry.field(
        description="Why an active trainee is behind: attendance, conversations."
    )

    @classmethod
    def of(cls, p: progress.Progress) -> TraineeProgressType:
        return cls(
            sessions_held=p.sessions_held,
            sessions_attended=p.sessions_attended,
            attendance_rate=p.attendance_rate,
            competencies_signed=p.competencies_signed,
            competencies_total=p.competencies_total,
            conversations_logged=p.conversations_logged,
            target_conversations=p.target_conversations,
            expected_conversations=p.expected_conversations,
            on_track=p.on_track,
            behind_reasons=p.behind_reasons,
        )


@strawberry.type(name="Programme")
class ProgrammeType:
    id: strawberry.ID
    name: str
    target_trainees: int
    target_date: date
    target_conversations_per_trainee: int | None
    _id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Any) -> ProgrammeType:
        """From a Programme or a row of PROGRAMME_COLUMNS."""
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            target_trainees=row.target_trainees,
            target_date=row.target_date,
            target_conversations_per_trainee=row.target_conversations_per_trainee,
            _id=row.id,
        )

    @strawberry.field(description="The competency framework, in order.")
    async def competencies(self, info: Info) -> list[CompetencyType]:
        rows = await info.context.loaders(TrainingLoaders).competencies.load(self._id)
        return [CompetencyType.of(r) for r in rows]

    @strawberry.field(
        description="Counts over every cohort, and the projection; null for trainees."
    )
    async def progress(self, info: Info) -> ProgrammeProgressType | None:
        ctx = info.context
        if not ctx.require_actor().has(*PROGRAMME_VIEWERS):
            return None
        found = await ctx.loaders(TrainingLoaders).programme_progress.load(self._id)
        return ProgrammeProgressType.of(found) if found is not None else None

    @strawberry.field(description="The programme's cohorts the caller sees, by start.")
    async def cohorts(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Connection[CohortType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page: Page[Row] = await cohorts.list_cohorts(
                session, ctx.require_actor(), request, programme_id=self._id
            )
        return cohort_connection(info, page)


def cohort_connection(info: Info, page: Page[Row]) -> Connection[CohortType]:
    loader = info.context.loaders(TrainingLoaders).cohort
    for row in page.items:
        loader.prime(row.id, row)
    return connection(info.context, page, CohortType.of)


@strawberry.type(name="Cohort")
class CohortType:
    id: strawberry.ID
    name: str
    starts_on: date
    ends_on: date
    _id: strawberry.Private[uuid.UUID]
    _programme_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: Any) -> CohortType:
        """From a Cohort or a row of COHORT_COLUMNS."""
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            _id=row.id,
            _programme_id=row.programme_id,
        )

    @strawberry.field
    async def programme(self, info: Info) -> ProgrammeType:
        row = await info.context.loaders(TrainingLoaders).programme.load(self._programme_id)
        assert row is not None
        return ProgrammeType.of(row)

    @strawberry.field(description="Members who train it, by name.")
    async def trainers(self, info: Info) -> list[UserType]:
        rows = await info.context.loaders(TrainingLoaders).trainers.load(self._id)
        return [UserType.of(r) for r in rows]

    @strawberry.field(description="Over the enrolments the caller sees (a trainee: their own).")
    async def stats(self, info: Info) -> CohortStatsType:
        return CohortStatsType.of(await info.context.loaders(TrainingLoaders).stats.load(self._id))

    @strawberry.field(
        description="The enrolments the caller sees, in the order they were made: its "
        "trainers and admins see all, a trainee their own."
    )
    async def enrolments(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Connection[EnrolmentType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page: Page[Row] = await enrolments.list_enrolments(
                session, ctx.require_actor(), self._id, request
            )
        nodes = {row.id: EnrolmentType.of(row) for row in page.items}
        await preload_enrolments(info, list(nodes.values()), "edges", "node")
        return connection(ctx, page, lambda row: nodes[row.id])

    @strawberry.field(description="Its sessions, earliest first, cancelled ones included.")
    async def training_sessions(
        self, info: Info, first: int | None = 50, after: str | None = None
    ) -> Connection[TrainingSessionType]:
        return await cohort_sessions(info, self._id, first, after)


@strawberry.type(name="Enrolment")
class EnrolmentType:
    id: strawberry.ID
    status: EnrolmentStatus
    status_at: datetime = strawberry.field(description="When the status last changed.")
    status_reason: str | None = strawberry.field(description="Why it was withdrawn.")
    _id: strawberry.Private[uuid.UUID]
    _cohort_id: strawberry.Private[uuid.UUID]
    _trainee_id: strawberry.Private[uuid.UUID]
    # Set by a list resolver that preloaded them for its page (docs/decisions/0009).
    _trainee: strawberry.Private[UserType | None] = None
    _progress: strawberry.Private[TraineeProgressType | None] = None

    @classmethod
    def of(cls, row: Any) -> EnrolmentType:
        """From an Enrolment or a row of ENROLMENT_COLUMNS."""
        return cls(
            id=strawberry.ID(str(row.id)),
            status=EnrolmentStatus(row.status),
            status_at=row.status_at,
            status_reason=row.status_reason,
            _id=row.id,
            _cohort_id=row.cohort_id,
            _trainee_id=row.trainee_id,
        )

    @strawberry.field(graphql_type=UserType)
    def trainee(self, info: Info) -> UserType | Awaitable[UserType]:
        if self._trainee is not None:
            return self._trainee
        return self._load_trainee(info)

    async def _load_trainee(self, info: Info) -> UserType:
        row = await info.context.loaders(AccountsLoaders).user.load(self._trainee_id)
        assert row is not None
        return UserType.of(row)

    @strawberry.field
    async def cohort(self, info: Info) -> CohortType:
        row = await info.context.loaders(TrainingLoaders).cohort.load(self._cohort_id)
        assert row is not None
        return CohortType.of(row)

    @strawberry.field(graphql_type=TraineeProgressType)
    def progress(self, info: Info) -> TraineeProgressType | Awaitable[TraineeProgressType]:
        if self._progress is not None:
            return self._progress
        return self._load_progress(info)

    async def _load_progress(self, info: Info) -> TraineeProgressType:
        found = await info.context.loaders(TrainingLoaders).progress.load(self._id)
        assert found is not None
        return TraineeProgressType.of(found)


async def preload_enrolments(info: Info, nodes: list[EnrolmentType], *path: str) -> None:
    """The trainees and progress the selection asks of each enrolment (``path``: the
    GraphQL names from the field to an enrolment), loaded for the whole page in one
    statement each and handed to the nodes, so graphql-core awaits nothing per item."""
    if not nodes:
        return
    ctx = info.context
    if selects(info, *path, "trainee"):
        trainee_ids = list(dict.fromkeys(n._trainee_id for n in nodes))
        users = await ctx.loaders(AccountsLoaders).user.load_many(trainee_ids)
        people = {u.id: UserType.of(u) for u in users if u is not None}
        for node in nodes:
            node._trainee = people.get(node._trainee_id)
    if selects(info, *path, "progress"):
        ids = [n._id for n in nodes]
        found = await ctx.loaders(TrainingLoaders).progress.load_many(ids)
        for node, p in zip(nodes, found, strict=True):
            node._progress = TraineeProgressType.of(p) if p is not None else None
