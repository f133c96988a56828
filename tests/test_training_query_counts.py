"""No N+1 in training: CohortProgress's cohort and enrolments, ProgrammeProgress and
MyCohorts cost the same statements for 5 trainees (or cohorts) as for 50."""

from __future__ import annotations

from typing import Any

from server.core.enums import Role
from server.core.services import Services
from server.training.enums import AttendanceStatus
from tests.campaign_rows import add_campaigns
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.contract_ops import op
from tests.training_rows import (
    PROGRESS,
    add_members,
    add_sessions,
    create_cohort,
    create_programme,
    enrol_many,
    mark,
    past,
)


async def _world(
    gql: GraphQLClient, services: Services, org: Org, trainees: int, cohorts: int
) -> tuple[str, list[str]]:
    """A programme with ``cohorts`` cohorts (the trainer trains them all), the first with
    ``trainees`` trainees, two held sessions and a mark for each of them."""
    programme = await create_programme(gql, org, competencies=3, target=4)
    cohort_ids = [
        await create_cohort(gql, org, programme["id"], name=f"Cohort {i:02}")
        for i in range(cohorts)
    ]
    users = await add_members(services, org, trainees)
    await add_campaigns(services, org, ["Listening"], organisers=users)
    for cohort_id in cohort_ids:
        enrolments = await enrol_many(services, org, cohort_id, users)
        if cohort_id == cohort_ids[0]:
            sessions = await add_sessions(services, org, cohort_id, [past(2), past(1)])
            for enrolment in enrolments:
                await mark(services, org, sessions[0], enrolment, AttendanceStatus.PRESENT)
    return programme["id"], cohort_ids


async def _statements(
    gql: GraphQLClient, counter: QueryCounter, org: Org, query: str, variables: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    await gql(query, variables, token=org.token(Role.TRAINER))  # pool and caches warm
    counter.statements.clear()
    data = await gql(query, variables, token=org.token(Role.TRAINER))
    return counter.count, data


async def test_cohort_progress_costs_the_same_for_50_trainees_as_for_5(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    small: Org = await make_org()
    big: Org = await make_org()
    _, [small_cohort] = await _world(gql, services, small, 5, 1)
    _, [big_cohort] = await _world(gql, services, big, 50, 1)
    small_count, small_data = await _statements(
        gql, count_queries, small, PROGRESS, {"id": small_cohort}
    )
    big_count, big_data = await _statements(gql, count_queries, big, PROGRESS, {"id": big_cohort})
    assert len(small_data["cohort"]["enrolments"]["edges"]) == 5
    assert len(big_data["cohort"]["enrolments"]["edges"]) == 50
    assert all(
        e["node"]["progress"]["sessionsAttended"] == 1
        for e in big_data["cohort"]["enrolments"]["edges"]
    )
    assert big_count == small_count, "\n".join(count_queries.statements)
    # cohort, stats, enrolments page, totalCount, trainees, progress
    assert big_count == 6, "\n".join(count_queries.statements)


async def test_programme_progress_and_my_cohorts_cost_the_same_for_50_cohorts_as_for_5(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    small: Org = await make_org()
    big: Org = await make_org()
    small_programme, _ = await _world(gql, services, small, 3, 5)
    big_programme, _ = await _world(gql, services, big, 3, 50)
    counts = {}
    for org, programme, cohorts in ((small, small_programme, 5), (big, big_programme, 50)):
        count, data = await _statements(
            gql, count_queries, org, op("ProgrammeProgress"), {"programmeId": programme}
        )
        edges = data["programme"]["cohorts"]["edges"]
        assert len(edges) == cohorts
        assert data["programme"]["progress"]["traineeCount"] == 3 * cohorts
        assert all(e["node"]["stats"]["traineeCount"] == 3 for e in edges)
        mine_count, mine = await _statements(gql, count_queries, org, op("MyCohorts"), {})
        assert len(mine["cohorts"]["edges"]) == min(cohorts, 20)
        counts[cohorts] = (count, mine_count)
    assert counts[50] == counts[5], "\n".join(count_queries.statements)
    # programme, progress, cohorts page, stats; cohorts page, programme, stats
    assert counts[50] == (4, 3), "\n".join(count_queries.statements)
