"""Residents (admins' and senior organisers' search) costs the same statements for a page
of 3 as for a page of 40, consent included."""

from __future__ import annotations

from typing import Any

from server.campaigns.models import Resident
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from tests.conftest import GraphQLClient, Org, QueryCounter


async def _residents(services: Services, org: Org, n: int) -> None:
    async with services.db.session() as session:
        session.add_all(
            Resident(
                organisation_id=org.organisation.id,
                name=f"Resident {i:02}",
                postcode="M1 1AA",
                email=f"resident{i}@example.test",
                store_details=True,
                contact_again=i % 2 == 0,
                hear_back=True,
                consent_recorded_at=utcnow(),
            )
            for i in range(n)
        )
        await session.commit()


async def test_residents_cost_does_not_grow_with_the_page(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    counts = []
    for n in (3, 40):
        org = await make_org()
        await _residents(services, org, n)
        token = org.token(Role.SENIOR_ORGANISER)
        await gql.op("Residents", {"search": "resident"}, token=token)  # the session check warms
        count_queries.statements.clear()
        data = await gql.op("Residents", {"search": "resident"}, token=token)
        edges = data["residents"]["edges"]
        assert len(edges) == n and data["residents"]["totalCount"] == n
        assert {e["node"]["consent"]["contactAgain"] for e in edges} == {True, False}
        assert all(e["node"]["email"].endswith("@example.test") for e in edges)
        counts.append(count_queries.count)
    assert counts[0] == counts[1], "\n".join(count_queries.statements)
    # The page and its count.
    assert counts[1] == 2, "\n".join(count_queries.statements)
