"""Training sessions: scheduling and who may, reminders that follow the session (through
the real reminder worker code), notices of changes, and the attendance register."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import User
from server.audit.models import AuditEntry
from server.cli.demo import seed_demo
from server.core.enums import Role
from server.core.models import utcnow
from server.core.queue import create_queue
from server.core.services import Services
from server.core.settings import Settings
from server.domains import REGISTRY
from server.notifications.models import Notification, NotificationKind, Reminder, ReminderStatus
from server.notifications.reminders import fire
from server.notifications.spec import NotifySpec
from server.outbox.models import OutboxMessage
from server.security.tokens import AccessClaims
from server.training.enums import AttendanceStatus, EnrolmentStatus
from server.training.models import AttendanceMark, Cohort, Enrolment, TrainingSession
from server.training.progress import progress_of
from server.training.session_reminders import SESSION_REMINDER_DAY, SESSION_REMINDER_HOUR
from tests import seed_followups as campaigns
from tests import seed_sessions as seed
from tests.conftest import GraphQLClient, Org, QueryCounter
from workers.runtime import Runtime

DAY, HOUR = SESSION_REMINDER_DAY.name, SESSION_REMINDER_HOUR.name


@pytest.fixture
async def runtime(services: Services) -> AsyncIterator[Runtime]:
    queue = create_queue(services.settings)
    await queue.connect()
    yield Runtime(services=services, queue=queue, channels={})
    await queue.disconnect()


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _soon(**delta: float) -> datetime:
    return (utcnow() + timedelta(**delta)).replace(microsecond=0)


def _codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def _schedule(
    gql: GraphQLClient, org: Org, cohort_id: uuid.UUID, starts: datetime, role: Role = Role.TRAINER,
    token: str | None = None, **fields: Any,
) -> dict[str, Any]:  # fmt: skip
    variables = {
        "cohortId": str(cohort_id),
        "title": "Listening well",
        "startsAt": _at(starts),
        "endsAt": _at(starts + timedelta(hours=2)),
        **fields,
    }
    data = await gql.op(
        "ScheduleTrainingSession", {"input": variables}, token=token or org.token(role)
    )
    result: dict[str, Any] = data["scheduleTrainingSession"]
    return result


async def _reminders(services: Services, subject: str) -> list[tuple[str, datetime, str]]:
    async with services.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(Reminder).where(col(Reminder.subject_id) == uuid.UUID(subject))
            )
        ).all()
    return sorted((r.kind, r.fire_at, r.status.value) for r in rows)


async def _pending(services: Services, subject: str) -> dict[str, uuid.UUID]:
    async with services.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(Reminder).where(
                    col(Reminder.subject_id) == uuid.UUID(subject),
                    col(Reminder.status) == ReminderStatus.PENDING,
                )
            )
        ).all()
    return {r.kind: r.id for r in rows}


async def _notified(services: Services) -> list[tuple[uuid.UUID, NotificationKind, str]]:
    async with services.db.session() as session:
        rows = (await session.scalars(sa.select(Notification))).all()
    return sorted((n.user_id, n.kind, n.title) for n in rows)


async def _changes(services: Services) -> list[NotifySpec]:
    """SESSION_CHANGED notices staged in the outbox, oldest first."""
    async with services.db.session() as session:
        rows = await session.scalars(
            sa.select(OutboxMessage)
            .where(col(OutboxMessage.topic) == "notify")
            .order_by(col(OutboxMessage.created_at))
        )
        specs = [NotifySpec.from_payload(r.payload) for r in rows]
    return [s for s in specs if s.template == "session_changed"]


async def test_schedule_checks_what_it_is_sent_and_who_sends_it(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    other = await make_org("Beta")
    spring = await seed.cohort(services, org)
    # A senior organiser trains another cohort of the same organisation.
    autumn = await seed.cohort(
        services, org, trainer=org.members[Role.SENIOR_ORGANISER], name="Autumn", trainees=1
    )
    starts = _soon(days=3)

    made = await _schedule(
        gql, org, spring.cohort.id, starts, location=" Community hall ",
        onlineUrl="https://meet.example.org/x",
    )  # fmt: skip
    assert made["userErrors"] == []
    assert made["trainingSession"] == {
        "id": made["trainingSession"]["id"],
        "title": "Listening well",
        "startsAt": _at(starts),
        "endsAt": _at(starts + timedelta(hours=2)),
        "location": "Community hall",
        "onlineUrl": "https://meet.example.org/x",
    }
    # An admin may schedule for any cohort of the organisation.
    assert (await _schedule(gql, org, autumn.cohort.id, starts, Role.ADMIN))["userErrors"] == []

    wrong = await _schedule(
        gql, org, spring.cohort.id, starts, title="  ", endsAt=_at(starts),
        onlineUrl="javascript:alert(1)",
    )  # fmt: skip
    assert wrong["trainingSession"] is None
    assert sorted(_codes(wrong)) == [
        ("input.endsAt", "INVALID"),
        ("input.onlineUrl", "INVALID"),
        ("input.title", "REQUIRED"),
    ]
    earlier = await _schedule(
        gql, org, spring.cohort.id, starts, endsAt=_at(starts - timedelta(minutes=1))
    )
    assert _codes(earlier) == [("input.endsAt", "INVALID")]
    # The trainer of Spring does not see Autumn, a trainee of Spring sees it but trains
    # nothing, and another organisation's admin does not see the cohort at all.
    not_trained = await _schedule(gql, org, autumn.cohort.id, starts, Role.TRAINER)
    assert _codes(not_trained) == [("input.cohortId", "NOT_FOUND")]
    trainee = await _schedule(gql, org, spring.cohort.id, starts, Role.ORGANISER)
    assert _codes(trainee) == [("input.cohortId", "FORBIDDEN")]
    foreign = await _schedule(gql, org, spring.cohort.id, starts, token=other.token())
    assert _codes(foreign) == [("input.cohortId", "NOT_FOUND")]
    malformed = await gql.op(
        "ScheduleTrainingSession",
        {"input": {"cohortId": "nope", "title": "x", "startsAt": _at(starts),
                   "endsAt": _at(starts + timedelta(hours=1))}},
        token=org.token(Role.ADMIN),
    )  # fmt: skip
    assert _codes(malformed["scheduleTrainingSession"]) == [("input.cohortId", "NOT_FOUND")]
    async with services.db.session() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(TrainingSession))
    assert count == 2


async def test_reminders_follow_the_session_and_changes_tell_the_active_trainees(
    gql: GraphQLClient, make_org: Any, services: Services, runtime: Runtime
) -> None:
    org = await make_org("Alpha")
    spring = await seed.cohort(services, org, trainees=3)
    active = sorted(u.id for u in spring.trainees[:2])
    await seed.set_status(services, spring.enrolments[2], EnrolmentStatus.WITHDRAWN)
    starts = _soon(days=3)
    made = await _schedule(gql, org, spring.cohort.id, starts)
    session_id = made["trainingSession"]["id"]
    assert await _reminders(services, session_id) == sorted(
        [
            (DAY, starts - timedelta(hours=24), "PENDING"),
            (HOUR, starts - timedelta(hours=1), "PENDING"),
        ]
    )
    first = await _pending(services, session_id)
    assert await _changes(services) == []  # scheduling is not a change

    # Moving moves both, and tells the active trainees (not the withdrawn one).
    later = starts + timedelta(days=1, hours=3)
    data = await gql.op(
        "MoveTrainingSession",
        {"id": session_id, "startsAt": _at(later), "endsAt": _at(later + timedelta(hours=1))},
        token=org.token(Role.TRAINER),
    )
    assert data["moveTrainingSession"] == {
        "trainingSession": {
            "id": session_id,
            "startsAt": _at(later),
            "endsAt": _at(later + timedelta(hours=1)),
        },
        "userErrors": [],
    }
    moved = await _pending(services, session_id)
    assert await _reminders(services, session_id) == sorted(
        [
            (DAY, starts - timedelta(hours=24), "CANCELLED"),
            (HOUR, starts - timedelta(hours=1), "CANCELLED"),
            (DAY, later - timedelta(hours=24), "PENDING"),
            (HOUR, later - timedelta(hours=1), "PENDING"),
        ]
    )
    (notice,) = await _changes(services)
    assert sorted(notice.user_ids) == active
    assert notice.params["title"] == "Listening well" and "has moved" in notice.params["change"]

    # The old reminders fire into nothing; the new day-before one tells the active trainees.
    assert await fire(runtime, first[DAY], now=starts - timedelta(hours=24)) == "nothing to do"
    assert await fire(runtime, moved[DAY], now=later - timedelta(hours=24)) == "2 notifications"
    assert await _notified(services) == sorted(
        (u, NotificationKind.SESSION_REMINDER, "Training tomorrow: Listening well") for u in active
    )

    # Cancelling cancels what is left, tells them again, and the session stays.
    data = await gql.op("CancelTrainingSession", {"id": session_id}, token=org.token(Role.TRAINER))
    cancelled = data["cancelTrainingSession"]
    assert cancelled["userErrors"] == [] and cancelled["trainingSession"]["cancelledAt"]
    assert await _pending(services, session_id) == {}
    assert await fire(runtime, moved[HOUR], now=later - timedelta(hours=1)) == "nothing to do"
    assert len(await _notified(services)) == 2
    notices = await _changes(services)
    assert len(notices) == 2 and "is cancelled" in notices[1].params["change"]
    assert sorted(notices[1].user_ids) == active

    # A cancelled session is not moved or cancelled again.
    for op, variables in (
        ("CancelTrainingSession", {"id": session_id}),
        ("MoveTrainingSession", {"id": session_id, "startsAt": _at(later),
                                 "endsAt": _at(later + timedelta(hours=2))}),
    ):  # fmt: skip
        data = await gql.op(op, variables, token=org.token(Role.TRAINER))
        assert _codes(next(iter(data.values()))) == [("id", "CLOSED")], op
    async with services.db.session() as session:
        row = await session.get(TrainingSession, uuid.UUID(session_id))
    assert row is not None and row.cancelled_at is not None and row.starts_at == later


async def test_a_session_soon_gets_only_the_reminders_still_ahead(
    gql: GraphQLClient, make_org: Any, services: Services, runtime: Runtime
) -> None:
    org = await make_org("Alpha")
    spring = await seed.cohort(services, org, trainees=1)
    in_half_an_hour = await _schedule(gql, org, spring.cohort.id, _soon(minutes=30))
    assert await _reminders(services, in_half_an_hour["trainingSession"]["id"]) == []
    in_five_hours = _soon(hours=5)
    made = await _schedule(gql, org, spring.cohort.id, in_five_hours)
    session_id = made["trainingSession"]["id"]
    assert await _reminders(services, session_id) == [
        (HOUR, in_five_hours - timedelta(hours=1), "PENDING")
    ]
    # Moved to 20 minutes from now: no reminder is left, but the trainee is told.
    soon = _soon(minutes=20)
    data = await gql.op(
        "MoveTrainingSession",
        {"id": session_id, "startsAt": _at(soon), "endsAt": _at(soon + timedelta(hours=1))},
        token=org.token(Role.ADMIN),
    )
    assert data["moveTrainingSession"]["userErrors"] == []
    assert await _pending(services, session_id) == {}
    assert [n.user_ids for n in await _changes(services)] == [[spring.trainees[0].id]]
    # Moved to the same time again: nothing changes, nobody is told twice.
    data = await gql.op(
        "MoveTrainingSession",
        {"id": session_id, "startsAt": _at(soon), "endsAt": _at(soon + timedelta(hours=1))},
        token=org.token(Role.ADMIN),
    )
    assert data["moveTrainingSession"]["userErrors"] == []
    assert len(await _changes(services)) == 1
    wrong = await gql.op(
        "MoveTrainingSession",
        {"id": session_id, "startsAt": _at(soon), "endsAt": _at(soon - timedelta(hours=1))},
        token=org.token(Role.ADMIN),
    )
    assert _codes(wrong["moveTrainingSession"]) == [("endsAt", "INVALID")]


async def _record(
    gql: GraphQLClient, token: str, session_id: uuid.UUID | str, marks: list[tuple[Any, str]]
) -> dict[str, Any]:
    data = await gql.op(
        "RecordAttendance",
        {
            "input": {
                "trainingSessionId": str(session_id),
                "marks": [{"enrolmentId": str(e), "status": s} for e, s in marks],
            }
        },
        token=token,
    )
    result: dict[str, Any] = data["recordAttendance"]
    return result


def _register(payload: dict[str, Any]) -> dict[str, str]:
    return {a["enrolment"]["id"]: a["status"] for a in payload["trainingSession"]["attendance"]}


async def _marks(services: Services) -> dict[tuple[uuid.UUID, uuid.UUID], AttendanceStatus]:
    async with services.db.session() as session:
        rows = (await session.scalars(sa.select(AttendanceMark))).all()
    return {(m.session_id, m.enrolment_id): m.status for m in rows}


async def test_attendance_is_marked_in_batches_and_corrected_with_every_mark_audited(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    spring = await seed.cohort(services, org, trainees=3)
    autumn = await seed.cohort(
        services, org, trainer=org.members[Role.SENIOR_ORGANISER], name="Autumn", trainees=1
    )
    held = await seed.training_session(services, spring, utcnow() - timedelta(days=1))
    ada, bo, cy = (e.id for e in spring.enrolments)
    token = org.token(Role.TRAINER)

    first = await _record(gql, token, held.id, [(ada, "PRESENT"), (bo, "ABSENT")])
    assert first["userErrors"] == []
    assert _register(first) == {str(ada): "PRESENT", str(bo): "ABSENT"}
    # A correction: the latest mark counts; an unchanged mark changes nothing.
    second = await _record(gql, token, held.id, [(bo, "EXCUSED"), (ada, "PRESENT")])
    assert _register(second) == {str(ada): "PRESENT", str(bo): "EXCUSED"}
    assert await _marks(services) == {
        (held.id, ada): AttendanceStatus.PRESENT,
        (held.id, bo): AttendanceStatus.EXCUSED,
    }
    async with services.db.session() as session:
        entries = (
            await session.scalars(
                sa.select(AuditEntry)
                .where(col(AuditEntry.action).like("attendance.%"))
                .order_by(col(AuditEntry.occurred_at), col(AuditEntry.action))
            )
        ).all()
    assert sorted((e.action, e.details["enrolment_id"], e.details["status"],
                   e.details.get("from")) for e in entries) == sorted([
        ("attendance.mark", str(ada), "PRESENT", None),
        ("attendance.mark", str(bo), "ABSENT", None),
        ("attendance.correct", str(bo), "EXCUSED", "ABSENT"),
    ])  # fmt: skip
    assert {e.actor_id for e in entries} == {org.members[Role.TRAINER].id}

    # An enrolment of another cohort, a malformed id, one sent twice: each is named on its
    # field, and nothing of the batch is stored (Cy stays unmarked, Ada PRESENT).
    refused = await _record(
        gql,
        token,
        held.id,
        [(cy, "PRESENT"), (autumn.enrolments[0].id, "PRESENT"), ("nope", "ABSENT"),
         (ada, "ABSENT"), (ada, "EXCUSED")],
    )  # fmt: skip
    assert refused["trainingSession"] is None
    assert _codes(refused) == [
        ("input.marks.1.enrolmentId", "NOT_FOUND"),
        ("input.marks.2.enrolmentId", "NOT_FOUND"),
        ("input.marks.4.enrolmentId", "INVALID"),
    ]
    assert len(await _marks(services)) == 2

    # A cancelled session takes no marks; one not yet started neither.
    cancelled = await seed.training_session(
        services, spring, utcnow() - timedelta(days=2), cancelled=True
    )
    coming = await seed.training_session(services, spring, utcnow() + timedelta(days=2))
    for training, code in ((cancelled, "CLOSED"), (coming, "INVALID")):
        payload = await _record(gql, token, training.id, [(ada, "PRESENT")])
        assert _codes(payload) == [("input.trainingSessionId", code)]
    # Too many marks at once.
    many = await _record(gql, token, held.id, [(uuid.uuid4(), "PRESENT")] * 201)
    assert _codes(many) == [("input.marks", "INVALID")]
    assert len(await _marks(services)) == 2


async def test_only_the_cohorts_trainers_and_admins_take_the_register(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    other = await make_org("Beta")
    spring = await seed.cohort(services, org, trainees=1)
    held = await seed.training_session(services, spring, utcnow() - timedelta(hours=3))
    ada = spring.enrolments[0].id
    # Their trainer marks Ada of Spring in their own session: Ada is not in that cohort.
    theirs = await seed.cohort(services, other, trainees=1)
    their_session = await seed.training_session(services, theirs, utcnow() - timedelta(hours=3))
    foreign_mark = await _record(
        gql, other.token(Role.TRAINER), their_session.id, [(ada, "PRESENT")]
    )
    assert _codes(foreign_mark) == [("input.marks.0.enrolmentId", "NOT_FOUND")]

    # A trainer of another cohort does not see this one; Ada, its trainee, may not mark.
    for role, code in ((Role.SENIOR_ORGANISER, "NOT_FOUND"), (Role.ORGANISER, "FORBIDDEN")):
        payload = await _record(gql, org.token(role), held.id, [(ada, "PRESENT")])
        assert _codes(payload) == [("input.trainingSessionId", code)], role
    for role in Role:
        payload = await _record(gql, other.token(role), held.id, [(ada, "PRESENT")])
        assert _codes(payload) == [("input.trainingSessionId", "NOT_FOUND")], role
        for op in ("MoveTrainingSession", "CancelTrainingSession"):
            variables: dict[str, Any] = {"id": str(held.id)}
            if op == "MoveTrainingSession":
                variables |= {"startsAt": _at(_soon(days=1)), "endsAt": _at(_soon(days=2))}
            data = await gql.op(op, variables, token=other.token(role))
            assert _codes(next(iter(data.values()))) == [("id", "NOT_FOUND")], (op, role)
    assert await _marks(services) == {}
    admin = await _record(gql, org.token(Role.ADMIN), held.id, [(ada, "PRESENT")])
    assert _register(admin) == {str(ada): "PRESENT"}


async def test_marks_complete_a_trainee_and_a_cancelled_session_counts_for_nobody(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    spring = await seed.cohort(services, org, trainees=2)
    ada, bo = spring.enrolments
    first = await seed.training_session(services, spring, utcnow() - timedelta(days=3))
    second = await seed.training_session(services, spring, utcnow() - timedelta(days=2))
    token = org.token(Role.TRAINER)
    # Ada was at both, Bo at the first only; the second is then cancelled: it never happened.
    await _record(gql, token, first.id, [(ada.id, "PRESENT"), (bo.id, "PRESENT")])
    await _record(gql, token, second.id, [(ada.id, "ABSENT"), (bo.id, "ABSENT")])
    async with services.db.session() as session:
        before = await progress_of(session, [ada.id, bo.id])
    assert [(p.sessions_held, p.sessions_attended) for p in before.values()] == [(2, 1)] * 2
    data = await gql.op("CancelTrainingSession", {"id": str(second.id)}, token=token)
    assert data["cancelTrainingSession"]["userErrors"] == []
    async with services.db.session() as session:
        after = await progress_of(session, [ada.id, bo.id])
        statuses = {e: s for e, s in await session.execute(
            sa.select(col(Enrolment.id), col(Enrolment.status)))}  # fmt: skip
    assert [(p.sessions_held, p.sessions_attended) for p in after.values()] == [(1, 1)] * 2
    # Cancelling is not a mark: nobody completed by it.
    assert set(statuses.values()) == {EnrolmentStatus.ACTIVE}

    # The programme asks for no competencies and no conversations: attendance is the last
    # condition, and the mark that meets it completes the trainee in its transaction.
    third = await seed.training_session(services, spring, utcnow() - timedelta(days=1))
    await _record(gql, token, third.id, [(ada.id, "PRESENT"), (bo.id, "ABSENT")])
    async with services.db.session() as session:
        statuses = {e: s for e, s in await session.execute(
            sa.select(col(Enrolment.id), col(Enrolment.status)))}  # fmt: skip
    assert statuses == {ada.id: EnrolmentStatus.COMPLETED, bo.id: EnrolmentStatus.ACTIVE}
    completed = [s for s in await _staged(services) if s.template == "training_completed"]
    assert [s.user_ids for s in completed] == [[spring.trainees[0].id]]


async def _staged(services: Services) -> list[NotifySpec]:
    async with services.db.session() as session:
        rows = await session.scalars(
            sa.select(OutboxMessage).where(col(OutboxMessage.topic) == "notify")
        )
        return [NotifySpec.from_payload(r.payload) for r in rows]


async def test_the_weekly_digest_names_trainees_behind_and_why(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org = await make_org("Alpha")
    trainer = org.members[Role.TRAINER]
    # Half of the cohort's 60 days are gone: 5 of the 10 conversations are expected by now.
    spring = await seed.cohort(
        services, org, trainees=4, starts_on=(utcnow() - timedelta(days=30)).date(),
        conversations=10,
    )  # fmt: skip
    ada, bo, cy, dee = spring.enrolments
    await seed.set_status(services, cy, EnrolmentStatus.WITHDRAWN)
    elsewhere = await seed.cohort(
        services, org, trainer=org.members[Role.SENIOR_ORGANISER], name="Autumn", trainees=2
    )
    campaign = await campaigns.campaign(services, org, *spring.trainees)
    for trainee in (spring.trainees[0], spring.trainees[3]):
        for _ in range(5):
            await campaigns.conversation(services, org, campaign, trainee, None)
    token = org.token(Role.TRAINER)
    for days, marks in ((3, ["PRESENT", "PRESENT", "ABSENT", "PRESENT"]),
                        (2, ["ABSENT", "PRESENT", "ABSENT", "PRESENT"])):  # fmt: skip
        held = await seed.training_session(services, spring, utcnow() - timedelta(days=days))
        payload = await _record(gql, token, held.id, list(zip((ada.id, bo.id, cy.id, dee.id),
                                                             marks, strict=True)))  # fmt: skip
        assert payload["userErrors"] == []
    autumn_held = await seed.training_session(services, elsewhere, utcnow() - timedelta(days=1))
    autumn_marks = [(elsewhere.enrolments[0].id, "PRESENT"), (elsewhere.enrolments[1].id, "ABSENT")]
    await _record(gql, org.token(Role.ADMIN), autumn_held.id, autumn_marks)

    section = REGISTRY.digest_sections["training.trainees_behind"]
    monday, tuesday = date(2026, 12, 7), date(2026, 12, 8)
    async with services.db.session() as session:
        lines = await section.lines(session, trainer, monday)
        assert await section.lines(session, trainer, tuesday) == []
        assert await section.lines(session, org.members[Role.ORGANISER], monday) == []
        autumn = await section.lines(session, org.members[Role.SENIOR_ORGANISER], monday)
    assert lines == [
        "Trainees behind in your cohorts:",
        "- Organiser of Alpha (Spring cohort): attendance: 1 of 2 sessions",
        "- Trainee 000 (Spring cohort): conversations: 0 of 5 by now",
    ]
    assert autumn == [
        "Trainees behind in your cohorts:",
        "- Trainee 000 (Autumn): attendance: 0 of 1 sessions",
    ]


REGISTER = """
query Register($cohortId: ID!) {
  cohort(id: $cohortId) {
    trainingSessions(first: 100) {
      totalCount
      edges { node { id cancelledAt attendance { enrolment { id trainee { id } } status } } }
    }
  }
}
"""


async def test_cohort_progress_shows_the_sessions_and_the_register_to_whom_it_may(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    org = await make_org("Alpha")
    spring = await seed.cohort(services, org, trainees=3, competencies=1)
    ada, bo, cy = spring.enrolments
    held = [
        await seed.training_session(services, spring, utcnow() - timedelta(days=d))
        for d in (4, 3, 2)
    ]
    coming = await seed.training_session(services, spring, utcnow() + timedelta(days=2))
    token = org.token(Role.TRAINER)
    for training in held:
        await _record(gql, token, training.id, [(ada.id, "PRESENT"), (bo.id, "ABSENT"),
                                                (cy.id, "PRESENT")])  # fmt: skip
    await gql.op("CancelTrainingSession", {"id": str(held[2].id)}, token=token)

    data = await gql.op("CohortProgress", {"cohortId": str(spring.cohort.id)}, token=token)
    sessions = [e["node"] for e in data["cohort"]["trainingSessions"]["edges"]]
    assert [s["id"] for s in sessions] == [str(t.id) for t in (*held, coming)]
    assert [bool(s["cancelledAt"]) for s in sessions] == [False, False, True, False]
    progress = {
        e["node"]["id"]: (e["node"]["progress"]["sessionsHeld"],
                          e["node"]["progress"]["sessionsAttended"])
        for e in data["cohort"]["enrolments"]["edges"]
    }  # fmt: skip
    # The cancelled session counts for nobody, the coming one is not held yet.
    assert progress == {str(ada.id): (2, 2), str(bo.id): (2, 0), str(cy.id): (2, 2)}

    # The trainer sees the whole register, Ada (a trainee) her own marks only; and the
    # register of every session costs what it costs for one.
    count_queries.statements.clear()
    register = await gql(REGISTER, {"cohortId": str(spring.cohort.id)}, token=token)
    marks = [
        (a["enrolment"]["id"], a["status"])
        for e in register["cohort"]["trainingSessions"]["edges"]
        for a in e["node"]["attendance"]
    ]
    assert sorted(marks) == sorted(
        [(str(e.id), s) for e, s in ((ada, "PRESENT"), (bo, "ABSENT"), (cy, "PRESENT"))] * 3
    )
    trainer_statements = count_queries.count
    theirs = await gql(REGISTER, {"cohortId": str(spring.cohort.id)},
                       token=org.token(Role.ORGANISER))  # fmt: skip
    own = {
        (a["enrolment"]["trainee"]["id"], a["status"])
        for e in theirs["cohort"]["trainingSessions"]["edges"]
        for a in e["node"]["attendance"]
    }
    assert own == {(str(org.members[Role.ORGANISER].id), "PRESENT")}

    one = await seed.cohort(services, org, trainees=1, name="Solo")
    only = await seed.training_session(services, one, utcnow() - timedelta(days=1))
    await _record(gql, token, only.id, [(one.enrolments[0].id, "PRESENT")])
    await gql(REGISTER, {"cohortId": str(one.cohort.id)}, token=token)
    count_queries.statements.clear()
    await gql(REGISTER, {"cohortId": str(one.cohort.id)}, token=token)
    assert count_queries.count == trainer_statements, "\n".join(count_queries.statements)


async def test_the_demo_seeds_a_cohort_with_real_progress_once(
    gql: GraphQLClient, services: Services, settings: Settings
) -> None:
    assert await seed_demo(settings) is True
    assert await seed_demo(settings) is False  # idempotent: nothing twice
    async with services.db.session() as session:
        [cohort_id] = (await session.scalars(sa.select(col(Cohort.id)))).all()
        trainer = await session.scalar(
            sa.select(User).where(col(User.email) == "trainer@demo.doorstep.local")
        )
        organiser = await session.scalar(
            sa.select(User).where(col(User.email) == "organiser@demo.doorstep.local")
        )
        coming = (
            await session.scalars(
                sa.select(col(Reminder.fire_at)).where(
                    col(Reminder.status) == ReminderStatus.PENDING,
                    col(Reminder.kind).in_([DAY, HOUR]),
                )
            )
        ).all()
    assert trainer is not None and organiser is not None
    token = services.access_tokens.issue(
        AccessClaims(trainer.id, trainer.organisation_id, Role.TRAINER, uuid.uuid4())
    )[0]
    data = await gql.op("CohortProgress", {"cohortId": str(cohort_id)}, token=token)
    cohort = data["cohort"]
    sessions = [e["node"] for e in cohort["trainingSessions"]["edges"]]
    now = _at(utcnow())
    assert len(sessions) == 9 and sum(1 for s in sessions if s["cancelledAt"]) == 1
    assert sum(1 for s in sessions if s["startsAt"] > now) == 3
    assert len(coming) == 6 and all(c > utcnow() for c in coming)  # two per coming session
    enrolments = {e["node"]["trainee"]["id"]: e["node"] for e in cohort["enrolments"]["edges"]}
    assert cohort["enrolments"]["totalCount"] == 8
    mine = enrolments[str(organiser.id)]
    assert mine["status"] == "ACTIVE"
    assert mine["progress"]["sessionsHeld"] == 5
    assert 4 <= mine["progress"]["sessionsAttended"] <= 5
    assert mine["progress"]["competenciesSigned"] == 4
    assert mine["progress"]["competenciesTotal"] == 6
    assert mine["progress"]["targetConversations"] == 20
    statuses = sorted(e["status"] for e in enrolments.values())
    assert statuses == ["ACTIVE"] * 7 + ["WITHDRAWN"]
    attended = {e["progress"]["sessionsAttended"] for e in enrolments.values()}
    assert len(attended) > 1  # not everybody alike
