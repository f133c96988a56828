"""No N+1: a page costs the same number of SQL statements for 3 rows as for 30."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from server.accounts.models import Area, User, UserArea
from server.audit.service import audit
from server.core.enums import Role
from server.core.services import Services
from tests.conftest import GraphQLClient, Org, QueryCounter
from tests.test_sync import _campaign, _sync
from tests.test_sync_batch import _full

Seed = Callable[[Services, Org, int], Awaitable[None]]


async def seed_members(services: Services, org: Org, n: int) -> None:
    """n members, each working in two areas of their own."""
    async with services.db.session() as session:
        for i in range(n):
            user = User(
                organisation_id=org.organisation.id,
                email=f"member{i}@{org.organisation.id}.test",
                display_name=f"Member {i:02}",
                role=Role.ORGANISER,
            )
            areas = [
                Area(organisation_id=org.organisation.id, name=f"Patch {i}-{j}") for j in range(2)
            ]
            session.add_all([user, *areas])
            await session.flush()
            session.add_all(UserArea(user_id=user.id, area_id=a.id) for a in areas)
        await session.commit()


async def seed_areas(services: Services, org: Org, n: int) -> None:
    """n areas, each under a parent of its own."""
    async with services.db.session() as session:
        for i in range(n):
            parent = Area(organisation_id=org.organisation.id, name=f"Ward {i:02}")
            session.add(parent)
            await session.flush()
            session.add(
                Area(
                    organisation_id=org.organisation.id, name=f"Estate {i:02}", parent_id=parent.id
                )
            )
        await session.commit()


async def seed_audit(services: Services, org: Org, n: int) -> None:
    """n audit entries, each by a different member."""
    async with services.db.session() as session:
        for i in range(n):
            user = User(
                organisation_id=org.organisation.id,
                email=f"actor{i}@{org.organisation.id}.test",
                display_name=f"Actor {i:02}",
                role=Role.ORGANISER,
            )
            session.add(user)
            await session.flush()
            audit(session, user, "area.create", (Area, uuid.uuid4()))
        await session.commit()


# operation, variables, seed, the connection's field, the statements a page takes
CASES: dict[str, tuple[str, dict[str, Any], Seed, str, int]] = {
    # page, totalCount, User.areas
    "Members": ("Members", {"first": 100}, seed_members, "members", 3),
    # page; every Area.parent is on it, so none is queried (parents on another page:
    # test_parents_on_another_page_cost_one_statement_for_the_whole_page)
    "Areas": ("Areas", {}, seed_areas, "areas", 1),
    # the page, with each AuditEntry.actor joined in
    "AuditLog": ("AuditLog", {"first": 100}, seed_audit, "auditLog", 1),
}


async def statements_for(
    gql: GraphQLClient, counter: QueryCounter, org: Org, name: str, variables: dict[str, Any]
) -> tuple[int, int]:
    """(SQL statements, rows shown) for one run of the operation, warmed up first."""
    await gql.op(name, variables, token=org.token(Role.ADMIN))  # pool and caches warm
    counter.statements.clear()
    data = await gql.op(name, variables, token=org.token(Role.ADMIN))
    count = counter.count
    [connection] = data.values()
    return count, len(connection["edges"])


@pytest.mark.parametrize("case", sorted(CASES))
async def test_statements_do_not_grow_with_rows(
    gql: GraphQLClient,
    make_org: Any,
    services: Services,
    count_queries: QueryCounter,
    case: str,
) -> None:
    name, variables, seed, _, statements = CASES[case]
    small: Org = await make_org()
    big: Org = await make_org()
    await seed(services, small, 3)
    await seed(services, big, 30)

    small_count, small_rows = await statements_for(gql, count_queries, small, name, variables)
    big_count, big_rows = await statements_for(gql, count_queries, big, name, variables)
    assert big_rows >= small_rows + 27  # the rows are really there
    assert big_count == small_count, "\n".join(count_queries.statements)
    assert big_count == statements, "\n".join(count_queries.statements)


async def test_members_resolve_every_nested_field(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """The batched loaders still give each member their own areas."""
    org: Org = await make_org()
    await seed_members(services, org, 30)
    data = await gql.op("Members", {"first": 100, "role": "ORGANISER"}, token=org.token())
    nodes = [e["node"] for e in data["members"]["edges"]]
    assert len(nodes) == 31
    for node in nodes:
        if node["displayName"].startswith("Member "):
            i = int(node["displayName"].split()[1])
            assert [a["name"] for a in node["areas"]] == [f"Patch {i}-0", f"Patch {i}-1"]


async def test_areas_resolve_their_own_parents(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    await seed_areas(services, org, 30)
    data = await gql.op("Areas", token=org.token())
    nodes = {e["node"]["name"]: e["node"] for e in data["areas"]["edges"]}
    for i in range(30):
        assert nodes[f"Estate {i:02}"]["parent"] == {"id": nodes[f"Ward {i:02}"]["id"]}


async def test_audit_entries_resolve_their_own_actors(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    await seed_audit(services, org, 30)
    data = await gql.op("AuditLog", {"first": 100}, token=org.token())
    actors = [e["node"]["actor"]["displayName"] for e in data["auditLog"]["edges"]]
    assert actors == [f"Actor {i:02}" for i in reversed(range(30))]


AREAS_PAGE = """
query AreasPage($first: Int, $after: String) {
  areas(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id name parent { id name } } }
  }
}
"""


async def seed_parents_on_the_first_page(services: Services, org: Org, n: int) -> None:
    """n parents ("A Ward ..") that sort before their n children ("B Estate .."), so a page
    of n children has every parent on the page before it."""
    async with services.db.session() as session:
        parents = [
            Area(organisation_id=org.organisation.id, name=f"A Ward {i:02}") for i in range(n)
        ]
        session.add_all(parents)
        await session.flush()
        session.add_all(
            Area(organisation_id=org.organisation.id, name=f"B Estate {i:02}", parent_id=p.id)
            for i, p in enumerate(parents)
        )
        await session.commit()


async def second_page(
    gql: GraphQLClient, counter: QueryCounter, org: Org, n: int
) -> tuple[int, list[dict[str, Any]]]:
    """(SQL statements, rows) for the page after the first n areas, warmed up first."""
    first = await gql(AREAS_PAGE, {"first": n}, token=org.token())
    after = first["areas"]["pageInfo"]["endCursor"]
    assert [e["node"]["name"] for e in first["areas"]["edges"]][-1] == f"A Ward {n - 1:02}"
    await gql(AREAS_PAGE, {"first": n, "after": after}, token=org.token())
    counter.statements.clear()
    data = await gql(AREAS_PAGE, {"first": n, "after": after}, token=org.token())
    return counter.count, [e["node"] for e in data["areas"]["edges"]]


async def test_parents_on_another_page_cost_one_statement_for_the_whole_page(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    """The page's own rows prime nothing here: every parent is loaded, in one batch."""
    small: Org = await make_org()
    big: Org = await make_org()
    await seed_parents_on_the_first_page(services, small, 3)
    await seed_parents_on_the_first_page(services, big, 30)

    small_count, small_rows = await second_page(gql, count_queries, small, 3)
    big_count, big_rows = await second_page(gql, count_queries, big, 30)
    assert len(small_rows) == 3 and len(big_rows) == 30
    for rows in (small_rows, big_rows):
        for i, row in enumerate(rows):
            assert row["name"] == f"B Estate {i:02}"
            assert row["parent"]["name"] == f"A Ward {i:02}"
    # The page (with one row more, to know whether another follows) and the parents.
    assert small_count == 2, "\n".join(count_queries.statements)
    assert big_count == 2, "\n".join(count_queries.statements)


async def test_parents_half_on_the_page_half_elsewhere_cost_one_statement_more(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    """A page of 30 children and 15 of their parents: the parents on it prime the loader,
    the 15 on the page before it come in one statement (a lookup per row would be 15)."""
    org: Org = await make_org()
    await seed_parents_on_the_first_page(services, org, 30)
    # Areas sort by name: the first page is "A Ward 00".."A Ward 14", the second the other
    # 15 wards and all 30 estates.
    first = await gql(AREAS_PAGE, {"first": 15}, token=org.token())
    after = first["areas"]["pageInfo"]["endCursor"]
    await gql(AREAS_PAGE, {"first": 45, "after": after}, token=org.token())  # warm
    count_queries.statements.clear()
    data = await gql(AREAS_PAGE, {"first": 45, "after": after}, token=org.token())
    rows = [e["node"] for e in data["areas"]["edges"]]
    assert [r["name"] for r in rows[:15]] == [f"A Ward {i:02}" for i in range(15, 30)]
    assert [(r["name"], r["parent"]["name"]) for r in rows[15:]] == [
        (f"B Estate {i:02}", f"A Ward {i:02}") for i in range(30)
    ]
    assert count_queries.count == 2, "\n".join(count_queries.statements)

    # The whole family on one page: the page alone.
    count_queries.statements.clear()
    data = await gql(AREAS_PAGE, {"first": 60}, token=org.token())
    assert len(data["areas"]["edges"]) == 60
    assert count_queries.count == 1, "\n".join(count_queries.statements)


async def test_conversation_changes_cost_the_same_for_20_or_200_conversations(
    gql: GraphQLClient, make_org: Any, services: Services, count_queries: QueryCounter
) -> None:
    """Each conversation with a resident, three answers and two themes: the page and each
    relation (themes, answers, organisers, residents) are one statement for the page."""
    counts: dict[int, int] = {}
    for size in (20, 200):
        org: Org = await make_org()
        campaign = await _campaign(services, org)
        await _sync(gql, org, [_full(campaign, i) for i in range(size)])
        variables = {"campaignId": str(campaign.id), "first": 200}
        await gql.op("ConversationChanges", variables, token=org.token(Role.ORGANISER))
        count_queries.statements.clear()
        data = await gql.op("ConversationChanges", variables, token=org.token(Role.ORGANISER))
        counts[size] = count_queries.count
        nodes = [e["node"] for e in data["conversations"]["edges"]]
        assert len(nodes) == size
        for node in nodes:  # every conversation got its own relations
            assert node["resident"]["name"].startswith("Resident ")
            assert len(node["answers"]) == 3 and len(node["themes"]) == 2
            assert node["organiser"]["id"] == str(org.members[Role.ORGANISER].id)
    statements = "\n".join(count_queries.statements)
    # The page, then themes, answers, organisers and residents of the whole page.
    assert counts[20] == counts[200] == 5, statements
