"""Integrity errors mean what they say: only a race on a named unique constraint is a
CONFLICT userError; any other (a foreign key, NOT NULL, clashing outbox dedupe keys) is an
unexpected error, logged with the request id and masked in production. Both databases."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from server.accounts import members
from server.accounts.models import Area, User, UserArea
from server.core.conflicts import CONFLICTS, conflict_for, violated_unique
from server.core.enums import Role
from server.core.logs import ContextFilter
from server.core.services import Services
from server.outbox.models import OutboxMessage
from tests.conftest import GraphQLClient, Org
from tests.contract_ops import op
from tests.test_graphql_limits import PRODUCTION, ClientFactory, client_with

__all__ = ["client_with"]  # the fixture, used below


async def _violation(services: Services, *rows: Any) -> IntegrityError:
    """The IntegrityError the database raises for adding these rows, each flushed in turn."""
    async with services.db.session() as session:
        with pytest.raises(IntegrityError) as caught:
            for row in rows:
                session.add(row)
                await session.flush()
        await session.rollback()
    return caught.value


def _user(org: Org, email: str) -> User:
    return User(
        organisation_id=org.organisation.id,
        email=email,
        display_name="Someone",
        role=Role.ORGANISER,
    )


async def test_named_unique_constraints_are_recognised(services: Services, make_org: Any) -> None:
    org: Org = await make_org()
    error = await _violation(services, _user(org, "twin@x.test"), _user(org, "twin@x.test"))
    assert violated_unique(error) == "uq_users_email"
    assert conflict_for(error) == CONFLICTS["uq_users_email"]

    # Several columns (a NULL parent never clashes on PostgreSQL, so under the ward).
    ward = org.area.id
    twins = [Area(organisation_id=org.organisation.id, parent_id=ward, name="Elm") for _ in "ab"]
    error = await _violation(services, *twins)
    assert violated_unique(error) == "uq_areas_organisation_id_parent_id_name"
    assert conflict_for(error) is not None and conflict_for(error).field == "input.name"  # type: ignore[union-attr]


async def test_other_integrity_errors_are_not_conflicts(services: Services, make_org: Any) -> None:
    org: Org = await make_org()
    admin = org.members[Role.ADMIN]
    clashing = [OutboxMessage(topic="notify", dedupe_key="same") for _ in "ab"]
    error = await _violation(services, *clashing)
    assert violated_unique(error) == "uq_outbox_dedupe_key"  # named, but not a race
    assert conflict_for(error) is None

    foreign_key = await _violation(services, UserArea(user_id=admin.id, area_id=uuid.uuid4()))
    assert violated_unique(foreign_key) is None and conflict_for(foreign_key) is None

    async with services.db.session() as session:
        with pytest.raises(IntegrityError) as not_null:
            await session.execute(
                sa.insert(SQLModel.metadata.tables["areas"]).values(
                    id=uuid.uuid4(), organisation_id=org.organisation.id, name=None
                )
            )
    assert violated_unique(not_null.value) is None

    same_id = _user(org, "b@x.test")
    same_id.id = admin.id
    primary_key = await _violation(services, same_id)
    assert violated_unique(primary_key) is None


async def _skip_area_check(session: AsyncSession, actor: Any, area_ids: Any) -> list[Any]:
    """The area check, as if the area were deleted between the check and the write."""
    return []


async def test_a_foreign_key_violation_is_an_internal_error_masked_and_logged(
    client_with: ClientFactory,
    make_org: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org: Org = await make_org()
    monkeypatch.setattr(members, "_area_problems", _skip_area_check)
    caplog.set_level(logging.ERROR, logger="doorstep.graphql")
    caplog.handler.addFilter(ContextFilter())  # as production's handler does
    variables = {
        "input": {
            "email": "new@x.test",
            "displayName": "New",
            "role": "ORGANISER",
            "areaIds": [str(uuid.uuid4())],
        }
    }
    async with client_with(**PRODUCTION) as client:
        response = await client.http.post(
            "/graphql",
            json={"query": op("InviteMember"), "variables": variables},
            headers={"Authorization": f"Bearer {org.token()}"},
        )
    request_id = response.headers["X-Request-ID"]
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "CONFLICT" not in response.text and "FOREIGN" not in response.text.upper()

    [record] = [r for r in caplog.records if r.name == "doorstep.graphql"]
    assert record.exc_info is not None and isinstance(record.exc_info[1], IntegrityError)
    assert getattr(record, "request_id") == request_id  # noqa: B009
    async with client_with() as client:  # and nothing was written
        members_now = await client.op("Members", {"first": 50}, token=org.token())
    emails = [e["node"]["email"] for e in members_now["members"]["edges"]]
    assert "new@x.test" not in emails


async def test_a_real_race_on_the_email_is_a_conflict(
    gql: GraphQLClient, make_org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both invitations pass the "is this email free" check before either writes (a barrier
    holds each until the other has checked); the database's constraint decides."""
    org: Org = await make_org()
    barrier = asyncio.Barrier(2)
    check = members._area_problems

    async def both_checked(*args: Any) -> Any:
        problems = await check(*args)
        await asyncio.wait_for(barrier.wait(), 10)
        return problems

    monkeypatch.setattr(members, "_area_problems", both_checked)
    variables = {"input": {"email": "twin@x.test", "displayName": "Twin", "role": "ORGANISER"}}
    answers = await asyncio.gather(
        *(gql.op("InviteMember", variables, token=org.token()) for _ in range(2))
    )
    results = sorted(
        (a["inviteMember"]["member"] is not None, a["inviteMember"]["userErrors"]) for a in answers
    )
    assert results == [
        (
            False,
            [
                {
                    "field": "input.email",
                    "message": CONFLICTS["uq_users_email"].message,
                    "code": "CONFLICT",
                }
            ],
        ),
        (True, []),
    ]
    data = await gql.op("Members", {"first": 50}, token=org.token())
    emails = [e["node"]["email"] for e in data["members"]["edges"]]
    assert emails.count("twin@x.test") == 1
