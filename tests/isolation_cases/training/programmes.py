"""Isolation cases of the training domain: programmes, cohorts, enrolments, sign-offs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.members import CANNOT_INVITE
from server.core.enums import Role
from server.training.enums import EnrolmentStatus
from server.training.models import Cohort, CohortTrainer, Enrolment, Programme, SignOff
from tests.isolation_cases import Case, World
from tests.training_rows import PROGRESS, Training, add_training


@dataclass(frozen=True)
class Both:
    theirs: Training
    ours: Training


async def _setup(w: World) -> Both:
    """Training of Theirs, and of Ours with a row pointing across that should never
    exist: a trainer of Theirs training Ours' cohort."""
    theirs = await add_training(w.services, w.theirs, "Theirs")
    ours = await add_training(w.services, w.ours, "Ours")
    async with w.services.db.session() as session:
        session.add(
            CohortTrainer(
                cohort_id=ours.cohort_id,
                user_id=w.theirs.members[Role.TRAINER].id,
                organisation_id=w.ours.organisation.id,
            )
        )
        await session.commit()
    w.secrets.update(
        str(i)
        for i in (theirs.programme_id, theirs.competency_id, theirs.cohort_id, theirs.enrolment_id)
    )
    return Both(theirs, ours)


async def _theirs_unchanged(w: World, b: Both) -> None:
    org = w.theirs.organisation.id
    async with w.services.db.session() as session:
        statuses = (
            await session.scalars(
                sa.select(col(Enrolment.status)).where(col(Enrolment.organisation_id) == org)
            )
        ).all()
        cohorts = (
            await session.scalars(
                sa.select(col(Cohort.name)).where(col(Cohort.organisation_id) == org)
            )
        ).all()
        programmes = (
            await session.scalars(
                sa.select(col(Programme.name)).where(col(Programme.organisation_id) == org)
            )
        ).all()
        signed = await session.scalar(
            sa.select(sa.func.count()).where(col(SignOff.organisation_id) == org)
        )
    # Only what the set-ups made (the cases all run in one world in one of the tests).
    assert set(statuses) == {EnrolmentStatus.ACTIVE}
    assert set(cohorts) == {"Theirs Cohort"} and set(programmes) == {"Theirs Programme"}
    assert signed == 0
    assert b.theirs.enrolment_id


def _codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


COHORT = "query ($id: ID!) { cohort(id: $id) { id trainers { id } programme { id name } } }"


async def programme(w: World) -> None:
    b = await _setup(w)
    for role in Role:
        data = await w.data("ProgrammeProgress", {"programmeId": str(b.theirs.programme_id)}, role)
        assert data["programme"] is None
    data = await w.data("ProgrammeProgress", {"programmeId": str(b.ours.programme_id)})
    names = [e["node"]["name"] for e in data["programme"]["cohorts"]["edges"]]
    assert names == ["Ours Cohort"]
    assert data["programme"]["progress"]["traineeCount"] == 1
    await _theirs_unchanged(w, b)


async def programmes(w: World) -> None:
    b = await _setup(w)
    for role in Role:
        data = await w.data("Programmes", {}, role)
        names = {e["node"]["name"] for e in data["programmes"]["edges"]}
        assert all(n.startswith("Ours") for n in names)
    await _theirs_unchanged(w, b)


async def cohort(w: World) -> None:
    b = await _setup(w)
    for role in Role:
        body = await w.gql.raw(PROGRESS, {"id": str(b.theirs.cohort_id)}, w.ours.token(role))
        w.responses.append(body)
        assert body["data"]["cohort"] is None
    body = await w.gql.raw(COHORT, {"id": str(b.ours.cohort_id)}, w.ours.token())
    w.responses.append(body)
    # Cohort.trainers never crosses, even for a row pointing across.
    assert body["data"]["cohort"]["trainers"] == [{"id": str(w.ours.members[Role.TRAINER].id)}]
    await _theirs_unchanged(w, b)


async def cohorts(w: World) -> None:
    b = await _setup(w)
    for role in Role:
        data = await w.data("MyCohorts", {}, role)
        names = {e["node"]["name"] for e in data["cohorts"]["edges"]}
        assert all(n.startswith("Ours") for n in names)
        body = await w.gql.raw("{ cohorts { edges { node { name } } } }", None, w.ours.token(role))
        w.responses.append(body)
        assert all(e["node"]["name"].startswith("Ours") for e in body["data"]["cohorts"]["edges"])
    await _theirs_unchanged(w, b)


async def create_programme(w: World) -> None:
    b = await _setup(w)
    data = await w.data(
        "CreateProgramme",
        {
            "input": {
                "name": "Ours new programme",
                "targetTrainees": 3,
                "targetDate": "2027-06-01",
                "competencies": [{"code": "C", "title": "Ours competency"}],
            }
        },
    )
    assert data["createProgramme"]["userErrors"] == []
    await _theirs_unchanged(w, b)


async def create_cohort(w: World) -> None:
    b = await _setup(w)
    cohort = {"name": "Ours new cohort", "startsOn": "2027-01-01", "endsOn": "2027-02-01"}
    data = await w.data(
        "CreateCohort", {"input": {**cohort, "programmeId": str(b.theirs.programme_id)}}
    )
    assert _codes(data["createCohort"]) == [("input.programmeId", "NOT_FOUND")]
    trainer = str(w.theirs.members[Role.TRAINER].id)
    data = await w.data(
        "CreateCohort",
        {
            "input": {
                **cohort,
                "programmeId": str(b.ours.programme_id),
                "trainerIds": [trainer],
            }
        },
    )
    assert _codes(data["createCohort"]) == [("input.trainerIds.0", "NOT_FOUND")]
    await _theirs_unchanged(w, b)


async def enrol_trainee(w: World) -> None:
    b = await _setup(w)
    theirs_user = w.theirs.members[Role.ORGANISER]
    for role in (Role.ADMIN, Role.TRAINER):
        data = await w.data(
            "EnrolTrainee",
            {"input": {"cohortId": str(b.theirs.cohort_id), "userId": str(theirs_user.id)}},
            role,
        )
        assert _codes(data["enrolTrainee"]) == [("input.cohortId", "NOT_FOUND")]
        data = await w.data(
            "EnrolTrainee",
            {"input": {"cohortId": str(b.ours.cohort_id), "userId": str(theirs_user.id)}},
            role,
        )
        assert _codes(data["enrolTrainee"]) == [("input.userId", "NOT_FOUND")]
        data = await w.data(
            "EnrolTrainee",
            {
                "input": {
                    "cohortId": str(b.ours.cohort_id),
                    "email": theirs_user.email,
                    "displayName": "Someone",
                }
            },
            role,
        )
        assert data["enrolTrainee"]["userErrors"] == [
            {"field": "input.email", "message": CANNOT_INVITE, "code": "INVALID"}
        ]
    await _theirs_unchanged(w, b)


async def withdraw_trainee(w: World) -> None:
    b = await _setup(w)
    for role in (Role.ADMIN, Role.TRAINER):
        data = await w.data("WithdrawTrainee", {"enrolmentId": str(b.theirs.enrolment_id)}, role)
        assert _codes(data["withdrawTrainee"]) == [("enrolmentId", "NOT_FOUND")]
    await _theirs_unchanged(w, b)


async def sign_off_competency(w: World) -> None:
    b = await _setup(w)
    for role in (Role.ADMIN, Role.TRAINER):
        data = await w.data(
            "SignOffCompetency",
            {
                "input": {
                    "enrolmentId": str(b.theirs.enrolment_id),
                    "competencyId": str(b.theirs.competency_id),
                }
            },
            role,
        )
        assert _codes(data["signOffCompetency"]) == [("input.enrolmentId", "NOT_FOUND")]
        data = await w.data(
            "SignOffCompetency",
            {
                "input": {
                    "enrolmentId": str(b.ours.enrolment_id),
                    "competencyId": str(b.theirs.competency_id),
                }
            },
            role,
        )
        assert _codes(data["signOffCompetency"]) == [("input.competencyId", "NOT_FOUND")]
    await _theirs_unchanged(w, b)


CASES: dict[str, Case] = {
    "programme": programme,
    "programmes": programmes,
    "cohort": cohort,
    "cohorts": cohorts,
    "createProgramme": create_programme,
    "createCohort": create_cohort,
    "enrolTrainee": enrol_trainee,
    "withdrawTrainee": withdraw_trainee,
    "signOffCompetency": sign_off_competency,
}
