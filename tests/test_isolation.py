"""Organisations never see or change each other's data, through any operation.

Two organisations, "Ours" and "Theirs". Every case acts as members of Ours against what
Theirs has, and must neither show anything of Theirs nor change it. Each domain keeps one
case per root field it adds in tests/isolation_cases/<domain>.py; the tests below fail when
a query, mutation or subscription has none, or a case file is named after no domain.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from schema import build_schema
from server.audit.models import AuditEntry
from server.core.services import Services
from server.domains import DOMAINS
from tests import domain_cases
from tests.conftest import GraphQLClient
from tests.isolation_cases import Case, World, make_world

CASES: dict[str, Case] = domain_cases.gather("tests.isolation_cases")


@pytest.fixture
async def world(gql: GraphQLClient, make_org: Any, services: Services) -> World:
    return await make_world(gql, make_org, services)


def root_fields() -> set[str]:
    schema = build_schema()._schema
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return {name for root in roots if root is not None for name in root.fields}


def test_every_operation_has_a_case() -> None:
    assert sorted(root_fields()) == sorted(CASES)


def test_each_domain_has_the_cases_of_its_own_fields() -> None:
    cases = domain_cases.modules("tests.isolation_cases")
    for domain in DOMAINS:
        mine = cases[domain.name].CASES if domain.name in cases else {}
        assert sorted(mine) == sorted(domain_cases.root_fields(domain.name)), domain.name


def test_no_case_file_is_named_after_no_domain() -> None:
    assert domain_cases.strays("tests.isolation_cases") == []


@pytest.mark.parametrize("name", sorted(CASES))
async def test_isolation(world: World, name: str) -> None:
    await CASES[name](world)
    await world.theirs_unchanged()
    assert world.responses, "a case must look at what Ours was shown"
    shown = json.dumps(world.responses)
    leaked = sorted(s for s in world.secrets if s in shown)
    assert leaked == [], f"{name} showed Ours these of Theirs: {leaked}"


async def test_theirs_audit_log_has_nothing_of_ours(world: World) -> None:
    for name in sorted(CASES):
        await CASES[name](world)
    async with world.services.db.session() as session:
        entries = (
            await session.scalars(
                sa.select(AuditEntry).where(
                    col(AuditEntry.organisation_id) == world.theirs.organisation.id
                )
            )
        ).all()
    ours = {u.id for u in world.ours.members.values()}
    assert not [e for e in entries if e.actor_id in ours]
    data = await world.gql.op("AuditLog", {"first": 100}, token=world.theirs.token())
    actions = sorted(e["node"]["action"] for e in data["auditLog"]["edges"])
    # What Theirs did in setting up, and the reset email Ours asked to be sent to Theirs.
    assert actions == ["area.create", "device.register", "password.reset_requested"]
