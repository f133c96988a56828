"""Audit cases of the training domain: programmes, cohorts, enrolments, sign-offs."""

from __future__ import annotations

from server.core.enums import Role
from server.core.services import Services
from tests.audit_cases import Expected, Run
from tests.conftest import GraphQLClient, Org
from tests.training_rows import create_cohort, create_programme, enrol


async def _enrolled(gql: GraphQLClient, org: Org, competencies: int = 2) -> tuple[dict, str]:
    programme = await create_programme(gql, org, competencies=competencies)
    cohort_id = await create_cohort(gql, org, programme["id"])
    return programme, await enrol(gql, org, cohort_id, org.members[Role.ORGANISER].id)


async def create_programme_(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    programme = await create_programme(gql, org)
    return Expected("programme.create", "Programme", programme["id"], org.members[Role.ADMIN].id)


async def create_cohort_(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    return Expected("cohort.create", "Cohort", cohort_id, org.members[Role.ADMIN].id)


async def enrol_trainee(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    _, enrolment_id = await _enrolled(gql, org)
    return Expected("enrolment.create", "Enrolment", enrolment_id, org.members[Role.TRAINER].id)


async def enrol_new_person(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    programme = await create_programme(gql, org)
    cohort_id = await create_cohort(gql, org, programme["id"])
    data = await gql.op(
        "EnrolTrainee",
        {"input": {"cohortId": cohort_id, "email": "new@audit.test", "displayName": "New"}},
        token=org.token(Role.TRAINER),
    )
    user_id = data["enrolTrainee"]["enrolment"]["trainee"]["id"]
    return Expected("member.invite", "User", user_id, org.members[Role.TRAINER].id)


async def withdraw_trainee(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    _, enrolment_id = await _enrolled(gql, org)
    data = await gql.op(
        "WithdrawTrainee", {"enrolmentId": enrolment_id}, token=org.token(Role.TRAINER)
    )
    assert data["withdrawTrainee"]["userErrors"] == []
    return Expected("enrolment.withdraw", "Enrolment", enrolment_id, org.members[Role.TRAINER].id)


async def _sign(gql: GraphQLClient, org: Org, enrolment_id: str, competency_id: str) -> None:
    data = await gql.op(
        "SignOffCompetency",
        {"input": {"enrolmentId": enrolment_id, "competencyId": competency_id}},
        token=org.token(Role.TRAINER),
    )
    assert data["signOffCompetency"]["userErrors"] == []


async def sign_off_competency(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    programme, enrolment_id = await _enrolled(gql, org)
    await _sign(gql, org, enrolment_id, programme["competencies"][0]["id"])
    actor = org.members[Role.TRAINER].id
    return Expected("competency.sign_off", "Enrolment", enrolment_id, actor)


async def sign_off_completing(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    programme, enrolment_id = await _enrolled(gql, org, competencies=1)
    await _sign(gql, org, enrolment_id, programme["competencies"][0]["id"])
    actor = org.members[Role.TRAINER].id
    return Expected("enrolment.complete", "Enrolment", enrolment_id, actor)


CASES: dict[str, Run] = {
    "createProgramme": create_programme_,
    "createCohort": create_cohort_,
    "enrolTrainee": enrol_trainee,
    "withdrawTrainee": withdraw_trainee,
    "signOffCompetency": sign_off_competency,
}
MORE_CASES: dict[str, Run] = {
    "enrolTrainee(new person)": enrol_new_person,
    "signOffCompetency(completing)": sign_off_completing,
}
