"""The audit log: every mutation leaves an entry; AuditLog shows them to admins only.

Each domain keeps one case per mutation it adds in tests/audit_cases/<domain>.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from schema import schema
from server.core.enums import Role
from server.core.services import Services
from server.domains import DOMAINS
from tests import domain_cases
from tests.audit_cases import Run, invite
from tests.conftest import GraphQLClient, Org
from tests.contract_ops import op

# One case per mutation of the schema: a new mutation fails the tests below until it has one.
CASES: dict[str, Run] = domain_cases.gather("tests.audit_cases")
# Mutations with more than one audited outcome: the others, beside the case in CASES.
MORE_CASES: dict[str, Run] = domain_cases.gather("tests.audit_cases", "MORE_CASES", optional=True)


def test_every_mutation_has_an_audit_case() -> None:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    assert sorted(mutation.fields) == sorted(CASES)


def test_each_domain_has_the_cases_of_its_own_mutations() -> None:
    cases = domain_cases.modules("tests.audit_cases")
    for domain in DOMAINS:
        mutations = domain_cases.root_fields(domain.name, "mutation")
        mine = cases[domain.name].CASES if domain.name in cases else {}
        assert sorted(mine) == sorted(mutations), domain.name
        more = getattr(cases.get(domain.name), "MORE_CASES", {})
        assert {name.split("(")[0] for name in more} <= set(mutations), domain.name


def test_no_case_file_is_named_after_no_domain() -> None:
    assert domain_cases.strays("tests.audit_cases") == []


async def audit_log(
    gql: GraphQLClient, org: Org, variables: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    data = await gql.op("AuditLog", {"first": 100, **(variables or {})}, token=org.token())
    return [e["node"] for e in data["auditLog"]["edges"]]


@pytest.mark.parametrize("mutation", sorted(CASES | MORE_CASES))
async def test_mutation_writes_an_audit_entry(
    gql: GraphQLClient, make_org: Any, services: Services, mutation: str
) -> None:
    org: Org = await make_org()
    expected = await (CASES | MORE_CASES)[mutation](gql, org, services)
    entries = [e for e in await audit_log(gql, org) if e["action"] == expected.action]
    assert entries, f"{mutation} wrote no {expected.action} entry"
    newest = entries[0]
    assert newest["entityType"] == expected.entity_type
    assert newest["entityId"] == (str(expected.entity_id) if expected.entity_id else None)
    actor = newest["actor"]
    assert (actor["id"] if actor else None) == (
        str(expected.actor_id) if expected.actor_id else None
    )
    assert newest["occurredAt"].endswith("Z")


async def test_refused_mutations_write_no_entry(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Refusals")
    data = await gql.op(
        "CreateArea", {"input": {"name": "Refusals Ward"}}, token=org.token(Role.ADMIN)
    )
    assert data["createArea"]["userErrors"]
    await gql.raw(op("CreateArea"), {"input": {"name": "X"}}, token=org.token(Role.ORGANISER))
    data = await gql.op("Login", {"email": "admin@refusals.test", "password": "wrong password"})
    assert data["login"]["userErrors"]
    assert await audit_log(gql, org) == []


@pytest.mark.parametrize("role", [Role.SENIOR_ORGANISER, Role.TRAINER, Role.ORGANISER])
async def test_audit_log_is_for_admins_only(gql: GraphQLClient, make_org: Any, role: Role) -> None:
    org: Org = await make_org()
    body = await gql.raw(op("AuditLog"), token=org.token(role))
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_audit_log_needs_sign_in(gql: GraphQLClient) -> None:
    body = await gql.raw(op("AuditLog"))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def _areas(gql: GraphQLClient, org: Org, names: list[str]) -> list[str]:
    ids = []
    for name in names:
        data = await gql.op("CreateArea", {"input": {"name": name}}, token=org.token())
        assert data["createArea"]["userErrors"] == []
        ids.append(data["createArea"]["area"]["id"])
    return ids


async def test_newest_first_and_filtered_by_entity_type(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    first = await _areas(gql, org, ["One", "Two"])
    member = await invite(gql, org, "between@audit.test")
    last = await _areas(gql, org, ["Three"])

    everything = await audit_log(gql, org)
    assert [e["entityId"] for e in everything] == [*last, member, *reversed(first)]
    times = [e["occurredAt"] for e in everything]
    assert times == sorted(times, reverse=True)

    areas = await audit_log(gql, org, {"entityType": "Area"})
    assert [e["entityId"] for e in areas] == [*last, *reversed(first)]
    assert {e["action"] for e in areas} == {"area.create"}
    users = await audit_log(gql, org, {"entityType": "User"})
    assert [e["entityId"] for e in users] == [member]
    assert await audit_log(gql, org, {"entityType": "Nothing"}) == []


async def test_audit_log_paginates(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    ids = await _areas(gql, org, [f"Area {i}" for i in range(7)])
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await gql.op("AuditLog", {"first": 3, "after": after}, token=org.token())
        log = data["auditLog"]
        pages += 1
        assert len(log["edges"]) <= 3
        seen += [e["node"]["entityId"] for e in log["edges"]]
        if not log["pageInfo"]["hasNextPage"]:
            break
        after = log["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == list(reversed(ids))


async def test_entries_name_their_actor(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    data = await gql.op(
        "CreateArea", {"input": {"name": "By senior"}}, token=org.token(Role.SENIOR_ORGANISER)
    )
    assert data["createArea"]["userErrors"] == []
    await _areas(gql, org, ["By admin"])
    entries = await audit_log(gql, org)
    assert [e["actor"]["displayName"] for e in entries] == [
        org.members[Role.ADMIN].display_name,
        org.members[Role.SENIOR_ORGANISER].display_name,
    ]
