"""Training through the contract: programmes, cohorts, enrolment, sign-off, progress
against targets, automatic completion, and who may see and change what."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.members import CANNOT_INVITE
from server.accounts.models import ActionToken, User
from server.core.enums import Role
from server.core.services import Services
from server.outbox.models import OutboxMessage
from server.training.completion import complete_if_done
from server.training.enums import AttendanceStatus, EnrolmentStatus
from server.training.models import Enrolment, SignOff
from server.training.progress import expected_conversations
from server.training.stats import projected_completions
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org
from tests.training_rows import (
    add_members,
    add_sessions,
    create_cohort,
    create_programme,
    enrol,
    mark,
    past,
    progress,
    today,
)

PRESENT, ABSENT, EXCUSED = (
    AttendanceStatus.PRESENT,
    AttendanceStatus.ABSENT,
    AttendanceStatus.EXCUSED,
)


def _codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def _notified(services: Services, template: str) -> list[list[str]]:
    """The user ids of each notification staged with this template."""
    async with services.db.session() as session:
        rows = await session.scalars(
            sa.select(col(OutboxMessage.payload)).where(col(OutboxMessage.topic) == "notify")
        )
        return [p["user_ids"] for p in rows.all() if p["template"] == template]


async def _sign(
    gql: GraphQLClient, org: Org, enrolment_id: str, competency_id: str, **more: Any
) -> dict[str, Any]:
    role = more.pop("role", Role.TRAINER)
    data = await gql.op(
        "SignOffCompetency",
        {"input": {"enrolmentId": enrolment_id, "competencyId": competency_id, **more}},
        token=org.token(role),
    )
    payload: dict[str, Any] = data["signOffCompetency"]
    return payload


async def _status(services: Services, enrolment_id: str) -> EnrolmentStatus:
    async with services.db.session() as session:
        found = await session.get_one(Enrolment, uuid.UUID(enrolment_id))
        return found.status


# --- programmes and cohorts -------------------------------------------------------------


async def test_a_programme_keeps_its_competencies_in_order(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    programme = await create_programme(gql, org, competencies=3, target=0)
    assert [c["code"] for c in programme["competencies"]] == ["C0", "C1", "C2"]
    assert programme["targetConversationsPerTrainee"] == 0
    data = await gql.op("Programmes", token=org.token(Role.TRAINER))
    assert [e["node"]["id"] for e in data["programmes"]["edges"]] == [programme["id"]]
    # A trainee sees no programme list; creating one is for admins.
    data = await gql.op("Programmes", token=org.token(Role.ORGANISER))
    assert data["programmes"]["edges"] == []
    body = await gql.raw(
        "mutation($i: CreateProgrammeInput!) { createProgramme(input: $i) { programme { id } } }",
        {"i": {"name": "X", "targetTrainees": 1, "targetDate": "2027-01-01", "competencies": []}},
        token=org.token(Role.TRAINER),
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_competency_codes_are_unique_in_a_programme(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    data = await gql.op(
        "CreateProgramme",
        {
            "input": {
                "name": "Dupes",
                "targetTrainees": 5,
                "targetDate": "2027-06-01",
                "competencies": [
                    {"code": "ONE", "title": "One"},
                    {"code": "one", "title": "Again"},
                    {"code": " ", "title": "Blank"},
                ],
            }
        },
        token=org.token(),
    )
    assert data["createProgramme"]["programme"] is None
    assert _codes(data["createProgramme"]) == [
        ("input.competencies.1.code", "INVALID"),
        ("input.competencies.2.code", "REQUIRED"),
    ]


async def test_cohort_trainers_are_trainers_or_senior_organisers(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    programme = await create_programme(gql, org)
    data = await gql.op(
        "CreateCohort",
        {
            "input": {
                "programmeId": programme["id"],
                "name": "Bad",
                "startsOn": "2027-01-10",
                "endsOn": "2027-01-01",
                "trainerIds": [
                    str(org.members[Role.ORGANISER].id),
                    str(uuid.uuid4()),
                    str(org.members[Role.SENIOR_ORGANISER].id),
                ],
            }
        },
        token=org.token(),
    )
    assert sorted(_codes(data["createCohort"])) == [
        ("input.endsOn", "INVALID"),
        ("input.trainerIds.0", "INVALID"),
        ("input.trainerIds.1", "NOT_FOUND"),
    ]
    # A trainer who creates a cohort trains it.
    data = await gql.op(
        "CreateCohort",
        {
            "input": {
                "programmeId": programme["id"],
                "name": "Mine",
                "startsOn": "2027-01-01",
                "endsOn": "2027-02-01",
            }
        },
        token=org.token(Role.TRAINER),
    )
    cohort = data["createCohort"]["cohort"]
    assert [t["id"] for t in cohort["trainers"]] == [str(org.members[Role.TRAINER].id)]
    mine = await gql.op("MyCohorts", token=org.token(Role.TRAINER))
    assert [e["node"]["id"] for e in mine["cohorts"]["edges"]] == [cohort["id"]]
    assert mine["cohorts"]["edges"][0]["node"]["programme"]["id"] == programme["id"]


# --- enrolment --------------------------------------------------------------------------


async def test_enrolling_a_member_tells_them_and_again_returns_the_same_enrolment(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    trainee = org.members[Role.ORGANISER].id
    first = await enrol(gql, org, cohort_id, trainee)
    again = await enrol(gql, org, cohort_id, trainee, role=Role.ADMIN)
    assert again == first
    assert await _notified(services, "training_enrolled") == [[str(trainee)]]


async def test_enrolling_a_new_person_by_email_invites_an_organiser(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    data = await gql.op(
        "EnrolTrainee",
        {"input": {"cohortId": cohort_id, "email": " New@Example.org ", "displayName": "Nia"}},
        token=org.token(Role.TRAINER),
    )
    enrolment = data["enrolTrainee"]["enrolment"]
    assert enrolment["status"] == "ACTIVE"
    assert enrolment["trainee"]["displayName"] == "Nia"
    async with services.db.session() as session:
        user = await session.scalar(sa.select(User).where(col(User.email) == "new@example.org"))
        assert user is not None and user.role == Role.ORGANISER
        assert user.organisation_id == org.organisation.id and user.password_hash is None
        tokens = (
            await session.scalars(sa.select(ActionToken).where(col(ActionToken.user_id) == user.id))
        ).all()
        emails = (
            await session.scalars(
                sa.select(col(OutboxMessage.payload)).where(
                    col(OutboxMessage.topic) == "email.account"
                )
            )
        ).all()
    assert [t.purpose.value for t in tokens] == ["INVITATION"]
    assert [(e["template"], e["to"]) for e in emails] == [("invitation", "new@example.org")]
    # The new person gets the invitation, not an ENROLLED notification as well.
    assert await _notified(services, "training_enrolled") == []


async def test_an_email_of_another_organisation_is_refused_revealing_nothing(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    theirs = other.members[Role.ORGANISER].email
    data = await gql.op(
        "EnrolTrainee",
        {"input": {"cohortId": cohort_id, "email": theirs, "displayName": "Someone"}},
        token=org.token(Role.TRAINER),
    )
    assert data["enrolTrainee"] == {
        "enrolment": None,
        "userErrors": [{"field": "input.email", "message": CANNOT_INVITE, "code": "INVALID"}],
    }
    # Their member by id is simply not there.
    data = await gql.op(
        "EnrolTrainee",
        {"input": {"cohortId": cohort_id, "userId": str(other.members[Role.ORGANISER].id)}},
        token=org.token(Role.TRAINER),
    )
    assert _codes(data["enrolTrainee"]) == [("input.userId", "NOT_FOUND")]
    async with services.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0


# --- access -----------------------------------------------------------------------------


async def test_a_trainer_of_another_cohort_is_refused(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    [other_trainer] = await add_members(services, org, 1, Role.TRAINER, prefix="trainer")
    programme = await create_programme(gql, org)
    theirs = await create_cohort(gql, org, programme["id"], trainer_ids=[other_trainer])
    ours = await create_cohort(gql, org, programme["id"])
    enrolment = await enrol(gql, org, theirs, org.members[Role.ORGANISER].id, role=Role.ADMIN)
    competency = programme["competencies"][0]["id"]

    assert await progress(gql, org, theirs) is None
    data = await gql.op(
        "EnrolTrainee",
        {"input": {"cohortId": theirs, "userId": str(org.members[Role.ORGANISER].id)}},
        token=org.token(Role.TRAINER),
    )
    assert _codes(data["enrolTrainee"]) == [("input.cohortId", "NOT_FOUND")]
    assert _codes(await _sign(gql, org, enrolment, competency)) == [
        ("input.enrolmentId", "NOT_FOUND")
    ]
    data = await gql.op(
        "WithdrawTrainee", {"enrolmentId": enrolment}, token=org.token(Role.TRAINER)
    )
    assert _codes(data["withdrawTrainee"]) == [("enrolmentId", "NOT_FOUND")]
    assert await _status(services, enrolment) == EnrolmentStatus.ACTIVE
    # Their own cohort and the admin's view are unaffected.
    assert (await progress(gql, org, ours))["enrolments"]["totalCount"] == 0
    assert (await progress(gql, org, theirs, Role.ADMIN))["enrolments"]["totalCount"] == 1


async def test_a_trainee_sees_only_their_own_enrolment_and_changes_nothing(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    others = await add_members(services, org, 2)
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    mine = await enrol(gql, org, cohort_id, org.members[Role.ORGANISER].id)
    for user_id in others:
        await enrol(gql, org, cohort_id, user_id)
    seen = await progress(gql, org, cohort_id, Role.ORGANISER)
    assert list(seen["by_id"]) == [mine]
    assert seen["stats"]["traineeCount"] == 1
    payload = await _sign(gql, org, mine, programme["competencies"][0]["id"], role=Role.ORGANISER)
    assert _codes(payload) == [("input.enrolmentId", "FORBIDDEN")]
    # Through their cohort they see the programme, not its figures.
    body = await gql(
        "query ($id: ID!) { cohort(id: $id) { programme { name progress { traineeCount } } } }",
        {"id": cohort_id},
        token=org.token(Role.ORGANISER),
    )
    assert body["cohort"]["programme"] == {"name": "Organising 101", "progress": None}
    # A member not enrolled does not see the cohort at all.
    assert await progress(gql, org, cohort_id, Role.SENIOR_ORGANISER) is None


async def test_another_organisations_training_is_not_found(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    programme = await create_programme(gql, other)
    cohort_id = await create_cohort(gql, other, programme["id"])
    enrolment = await enrol(gql, other, cohort_id, other.members[Role.ORGANISER].id)
    data = await gql.op("ProgrammeProgress", {"programmeId": programme["id"]}, token=org.token())
    assert data["programme"] is None
    assert await progress(gql, org, cohort_id, Role.ADMIN) is None
    data = await gql.op(
        "EnrolTrainee",
        {"input": {"cohortId": cohort_id, "userId": str(org.members[Role.ORGANISER].id)}},
        token=org.token(),
    )
    assert _codes(data["enrolTrainee"]) == [("input.cohortId", "NOT_FOUND")]
    payload = await _sign(gql, org, enrolment, programme["competencies"][0]["id"], role=Role.ADMIN)
    assert _codes(payload) == [("input.enrolmentId", "NOT_FOUND")]
    data = await gql.op(
        "CreateCohort",
        {
            "input": {
                "programmeId": programme["id"],
                "name": "Into theirs",
                "startsOn": "2027-01-01",
                "endsOn": "2027-02-01",
            }
        },
        token=org.token(),
    )
    assert _codes(data["createCohort"]) == [("input.programmeId", "NOT_FOUND")]


# --- progress and the on-track rule -----------------------------------------------------


async def test_on_track_while_no_session_is_held_and_at_exactly_75_percent(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    a, b = await add_members(services, org, 2)
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    first, second = [await enrol(gql, org, cohort_id, u) for u in (a, b)]
    # A session still to come holds nothing.
    await add_sessions(services, org, cohort_id, [past(-1)])
    seen = await progress(gql, org, cohort_id)
    assert seen["by_id"][first]["progress"] | {} == {
        "sessionsHeld": 0,
        "sessionsAttended": 0,
        "attendanceRate": None,
        "competenciesSigned": 0,
        "competenciesTotal": 2,
        "conversationsLogged": 0,
        "targetConversations": None,
        "expectedConversations": 0,
        "onTrack": True,
        "behindReasons": [],
    }
    held = await add_sessions(services, org, cohort_id, [past(4), past(3), past(2), past(1)])
    for session_id, (x, y) in zip(
        held,
        [(PRESENT, PRESENT), (PRESENT, PRESENT), (PRESENT, ABSENT), (ABSENT, EXCUSED)],
        strict=True,
    ):
        await mark(services, org, session_id, first, x)
        await mark(services, org, session_id, second, y)
    seen = await progress(gql, org, cohort_id)
    one, two = seen["by_id"][first]["progress"], seen["by_id"][second]["progress"]
    assert (one["sessionsHeld"], one["sessionsAttended"], one["attendanceRate"]) == (4, 3, 0.75)
    assert one["onTrack"] is True
    assert (two["sessionsAttended"], two["onTrack"], two["behindReasons"]) == (
        2,
        False,
        ["attendance"],
    )
    assert seen["stats"] | {} == {
        "traineeCount": 2,
        "activeCount": 2,
        "completedCount": 0,
        "withdrawnCount": 0,
        "onTrackCount": 1,
        "behindCount": 1,
    }
    # A correction: the latest mark counts.
    await mark(services, org, held[3], second, PRESENT)
    seen = await progress(gql, org, cohort_id)
    assert seen["by_id"][second]["progress"]["onTrack"] is True


async def test_a_cancelled_session_counts_for_nobody(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    enrolment = await enrol(gql, org, cohort_id, org.members[Role.ORGANISER].id)
    [held] = await add_sessions(services, org, cohort_id, [past(2)])
    [cancelled] = await add_sessions(services, org, cohort_id, [past(1)], cancelled=True)
    await mark(services, org, held, enrolment, PRESENT)
    await mark(services, org, cancelled, enrolment, PRESENT)
    seen = (await progress(gql, org, cohort_id))["by_id"][enrolment]["progress"]
    assert (seen["sessionsHeld"], seen["sessionsAttended"]) == (1, 1)


async def test_the_conversation_target_is_the_elapsed_share_rounded_down(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    trainee = org.members[Role.ORGANISER].id
    # 10 days long, 3 elapsed: 5 * 3 / 10 = 1.5, so 1 conversation is expected by now.
    programme = await create_programme(gql, org, target=5)
    start = today() - timedelta(days=3)
    cohort_id = await create_cohort(
        gql, org, programme["id"], starts_on=start, ends_on=start + timedelta(days=10)
    )
    enrolment = await enrol(gql, org, cohort_id, trainee)
    seen = (await progress(gql, org, cohort_id))["by_id"][enrolment]["progress"]
    assert (seen["targetConversations"], seen["expectedConversations"]) == (5, 1)
    assert (seen["onTrack"], seen["behindReasons"]) == (False, ["conversations"])

    (campaign,) = await add_campaigns(services, org, ["Listening"], organisers=[trainee])
    await _sync(gql, org, campaign.id, (start - timedelta(days=1)).isoformat())  # before
    seen = (await progress(gql, org, cohort_id))["by_id"][enrolment]["progress"]
    assert (seen["conversationsLogged"], seen["onTrack"]) == (0, False)
    await _sync(gql, org, campaign.id, start.isoformat())  # its first day counts
    seen = (await progress(gql, org, cohort_id))["by_id"][enrolment]["progress"]
    assert (seen["conversationsLogged"], seen["onTrack"]) == (1, True)


async def test_expected_conversations_at_the_edges(services: Services) -> None:
    start, end = date(2027, 1, 1), date(2027, 1, 11)

    async def expected(target: int | None, starts_on: date, ends_on: date, on: date) -> int:
        async with services.db.session() as session:
            dialect = session.get_bind().dialect.name
            found = await session.scalar(
                sa.select(
                    expected_conversations(
                        sa.literal(target, sa.Integer),
                        sa.literal(starts_on, sa.Date),
                        sa.literal(ends_on, sa.Date),
                        sa.literal(on, sa.Date),
                        dialect,
                    )
                )
            )
        assert isinstance(found, int)
        return found

    assert await expected(None, start, end, date(2027, 1, 6)) == 0
    assert await expected(0, start, end, date(2027, 1, 6)) == 0
    assert await expected(7, start, end, date(2026, 12, 1)) == 0  # not started
    assert await expected(7, start, end, start) == 0
    assert await expected(7, start, end, date(2027, 1, 4)) == 2  # 2.1
    assert await expected(7, start, end, date(2027, 1, 10)) == 6  # 6.3
    assert await expected(7, start, end, end) == 7
    assert await expected(7, start, end, date(2027, 2, 1)) == 7  # ended
    assert await expected(3, start, start, start) == 3  # a one-day cohort
    assert await expected(3, start, start, date(2026, 12, 31)) == 0  # before its day


def test_the_projection_is_the_current_rate_times_the_days_left() -> None:
    today_ = date(2027, 1, 11)
    # 4 completed in 10 days, 25 days left: 4 + 4 * 25 / 10 = 14
    assert projected_completions(4, date(2027, 1, 1), date(2027, 2, 5), today_) == 14
    assert projected_completions(4, date(2027, 1, 1), date(2027, 1, 5), today_) == 4  # past
    assert projected_completions(0, None, date(2027, 2, 5), today_) == 0  # no cohort
    assert projected_completions(2, today_, date(2027, 2, 5), today_) == 2  # no day elapsed


# --- withdrawal and completion ----------------------------------------------------------


async def test_a_withdrawn_trainee_is_out_of_the_rates_and_never_completes(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    a, b = await add_members(services, org, 2)
    programme = await create_programme(gql, org, competencies=1)
    cohort_id = await create_cohort(gql, org, programme["id"])
    stays, leaves = [await enrol(gql, org, cohort_id, u) for u in (a, b)]
    [held] = await add_sessions(services, org, cohort_id, [past(1)])
    await mark(services, org, held, stays, PRESENT)
    await mark(services, org, held, leaves, ABSENT)
    data = await gql.op(
        "WithdrawTrainee",
        {"enrolmentId": leaves, "reason": "Moved away"},
        token=org.token(Role.TRAINER),
    )
    assert data["withdrawTrainee"] == {
        "enrolment": {"id": leaves, "status": "WITHDRAWN"},
        "userErrors": [],
    }
    seen = await progress(gql, org, cohort_id)
    assert seen["stats"] | {} == {
        "traineeCount": 2,
        "activeCount": 1,
        "completedCount": 0,
        "withdrawnCount": 1,
        "onTrackCount": 1,
        "behindCount": 0,
    }
    assert seen["by_id"][leaves]["progress"]["onTrack"] is False
    competency = programme["competencies"][0]["id"]
    assert _codes(await _sign(gql, org, leaves, competency)) == [("input.enrolmentId", "INVALID")]
    # Even with every condition met, a withdrawn enrolment stays withdrawn.
    async with services.db.session() as session:
        session.add(
            SignOff(
                organisation_id=org.organisation.id,
                enrolment_id=uuid.UUID(leaves),
                competency_id=uuid.UUID(competency),
                signed_by_id=org.members[Role.TRAINER].id,
            )
        )
        await mark(services, org, held, leaves, PRESENT)
        await session.flush()
        assert await complete_if_done(session, [uuid.UUID(leaves)]) == []
        await session.commit()
    assert await _status(services, leaves) == EnrolmentStatus.WITHDRAWN
    data = await gql.op("WithdrawTrainee", {"enrolmentId": leaves}, token=org.token())
    assert _codes(data["withdrawTrainee"]) == [("enrolmentId", "ALREADY_DONE")]


async def test_the_last_sign_off_completes_the_enrolment(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    trainee = org.members[Role.ORGANISER].id
    programme = await create_programme(gql, org, competencies=2)
    cohort_id = await create_cohort(gql, org, programme["id"])
    enrolment = await enrol(gql, org, cohort_id, trainee)
    [held] = await add_sessions(services, org, cohort_id, [past(1)])
    await mark(services, org, held, enrolment, PRESENT)
    first, second = (c["id"] for c in programme["competencies"])
    payload = await _sign(gql, org, enrolment, first, evidence="Ran a house meeting")
    assert payload == {
        "enrolment": {
            "id": enrolment,
            "progress": {"competenciesSigned": 1, "competenciesTotal": 2},
        },
        "userErrors": [],
    }
    assert await _status(services, enrolment) == EnrolmentStatus.ACTIVE
    payload = await _sign(gql, org, enrolment, second)
    assert payload["enrolment"]["progress"]["competenciesSigned"] == 2
    assert await _status(services, enrolment) == EnrolmentStatus.COMPLETED
    assert await _notified(services, "training_completed") == [[str(trainee)]]
    seen = await progress(gql, org, cohort_id)
    assert (seen["stats"]["completedCount"], seen["stats"]["activeCount"]) == (1, 0)


async def test_signing_the_same_competency_again_keeps_the_first(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    programme = await create_programme(gql, org, competencies=2)
    cohort_id = await create_cohort(gql, org, programme["id"])
    enrolment = await enrol(gql, org, cohort_id, org.members[Role.ORGANISER].id)
    competency = programme["competencies"][0]["id"]
    await _sign(gql, org, enrolment, competency, evidence="First")
    payload = await _sign(gql, org, enrolment, competency, evidence="Second", role=Role.ADMIN)
    assert payload["userErrors"] == []
    assert payload["enrolment"]["progress"]["competenciesSigned"] == 1
    async with services.db.session() as session:
        rows = (await session.scalars(sa.select(SignOff))).all()
    assert [(r.evidence, r.signed_by_id) for r in rows] == [("First", org.members[Role.TRAINER].id)]
    # A competency of another programme is not this enrolment's to sign.
    other = await create_programme(gql, org, name="Other")
    payload = await _sign(gql, org, enrolment, other["competencies"][0]["id"])
    assert _codes(payload) == [("input.competencyId", "NOT_FOUND")]


async def _sync(gql: GraphQLClient, org: Org, campaign_id: uuid.UUID, day: str) -> None:
    item = {
        "id": str(uuid.uuid4()),
        "campaignId": str(campaign_id),
        "occurredAt": f"{day}T10:15:00Z",
        "questionSetVersion": 1,
        "answers": [],
        "themes": [],
    }
    data = await gql.op(
        "SyncConversations",
        {"input": {"conversations": [item]}},
        token=org.token(Role.ORGANISER),
    )
    [result] = data["syncConversations"]["results"]
    assert result["status"] == "CREATED", result


async def test_a_synced_conversation_that_meets_the_target_completes_the_enrolment(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    trainee = org.members[Role.ORGANISER].id
    programme = await create_programme(gql, org, competencies=1, target=2)
    cohort_id = await create_cohort(gql, org, programme["id"])
    enrolment = await enrol(gql, org, cohort_id, trainee)
    await _sign(gql, org, enrolment, programme["competencies"][0]["id"])
    (listening,) = await add_campaigns(services, org, ["Listening"], organisers=[trainee])
    await _sync(gql, org, listening.id, today().isoformat())
    assert await _status(services, enrolment) == EnrolmentStatus.ACTIVE
    await _sync(gql, org, listening.id, today().isoformat())
    assert await _status(services, enrolment) == EnrolmentStatus.COMPLETED
    assert await _notified(services, "training_completed") == [[str(trainee)]]
    seen = (await progress(gql, org, cohort_id))["by_id"][enrolment]
    assert (seen["status"], seen["progress"]["conversationsLogged"]) == ("COMPLETED", 2)
