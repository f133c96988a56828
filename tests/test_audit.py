"""The audit log: every mutation leaves an entry; AuditLog shows them to admins only."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from sqlmodel import col

from schema import schema
from server.core.enums import Role
from server.core.services import Services
from server.notifications.models import Notification, NotificationKind
from server.outbox.models import OutboxMessage
from tests.conftest import PASSWORD, GraphQLClient, Org
from tests.contract_ops import op


@dataclass(frozen=True)
class Expected:
    action: str
    entity_type: str
    entity_id: uuid.UUID | str | None
    actor_id: uuid.UUID | str


Run = Callable[[GraphQLClient, Org, Services], Awaitable[Expected]]


async def _login(gql: GraphQLClient, org: Org, role: Role = Role.ADMIN) -> dict[str, Any]:
    data = await gql.op("Login", {"email": org.members[role].email, "password": PASSWORD})
    assert data["login"]["userErrors"] == []
    session: dict[str, Any] = data["login"]["session"]
    return session


async def login(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    await _login(gql, org)
    admin = org.members[Role.ADMIN].id
    return Expected("session.login", "User", admin, admin)


async def refresh_session(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    session = await _login(gql, org, Role.TRAINER)
    data = await gql.op("RefreshSession", {"refreshToken": session["refreshToken"]})
    assert data["refreshSession"]["userErrors"] == []
    trainer = org.members[Role.TRAINER].id
    return Expected("session.refresh", "User", trainer, trainer)


async def logout(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    session = await _login(gql, org, Role.ORGANISER)
    data = await gql.op("Logout", {"refreshToken": session["refreshToken"]})
    assert data["logout"] == {"ok": True, "userErrors": []}
    organiser = org.members[Role.ORGANISER].id
    return Expected("session.logout", "User", organiser, organiser)


async def request_password_reset(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    user = org.members[Role.ORGANISER]
    data = await gql.op("RequestPasswordReset", {"email": user.email})
    assert data["requestPasswordReset"] == {"ok": True}
    return Expected("password.reset_requested", "User", user.id, user.id)


async def _invite(gql: GraphQLClient, org: Org, email: str) -> str:
    data = await gql.op(
        "InviteMember",
        {"input": {"email": email, "displayName": "Newcomer", "role": "ORGANISER"}},
        token=org.token(Role.ADMIN),
    )
    assert data["inviteMember"]["userErrors"] == []
    member_id: str = data["inviteMember"]["member"]["id"]
    return member_id


async def set_password(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    email = f"new-{uuid.uuid4().hex[:6]}@audit.test"
    member_id = await _invite(gql, org, email)
    async with services.db.session() as session:
        payloads = (
            await session.scalars(
                sa.select(col(OutboxMessage.payload)).where(
                    col(OutboxMessage.topic) == "email.account"
                )
            )
        ).all()
    [link] = [p["link"] for p in payloads if p["to"] == email]
    [token] = parse_qs(urlparse(link).query)["token"]
    data = await gql.op("SetPassword", {"input": {"token": token, "password": PASSWORD}})
    assert data["setPassword"]["userErrors"] == []
    return Expected("password.set", "User", member_id, member_id)


async def _register(gql: GraphQLClient, org: Org) -> str:
    data = await gql.op(
        "RegisterDevice",
        {
            "input": {
                "platform": "IOS",
                "provider": "EXPO",
                "token": f"ExponentPushToken[{uuid.uuid4()}]",
            }
        },
        token=org.token(Role.ORGANISER),
    )
    assert data["registerDevice"]["userErrors"] == []
    device_id: str = data["registerDevice"]["device"]["id"]
    return device_id


async def register_device(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    device_id = await _register(gql, org)
    return Expected("device.register", "Device", device_id, org.members[Role.ORGANISER].id)


async def unregister_device(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    device_id = await _register(gql, org)
    data = await gql.op("UnregisterDevice", {"id": device_id}, token=org.token(Role.ORGANISER))
    assert data["unregisterDevice"] == {"ok": True, "userErrors": []}
    return Expected("device.unregister", "Device", device_id, org.members[Role.ORGANISER].id)


async def create_area(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    data = await gql.op(
        "CreateArea", {"input": {"name": "Audited"}}, token=org.token(Role.SENIOR_ORGANISER)
    )
    assert data["createArea"]["userErrors"] == []
    area_id = data["createArea"]["area"]["id"]
    return Expected("area.create", "Area", area_id, org.members[Role.SENIOR_ORGANISER].id)


async def invite_member(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    member_id = await _invite(gql, org, "invited@audit.test")
    return Expected("member.invite", "User", member_id, org.members[Role.ADMIN].id)


async def update_member(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    trainer = org.members[Role.TRAINER].id
    data = await gql.op(
        "UpdateMember",
        {"id": str(trainer), "input": {"displayName": "Renamed", "role": "SENIOR_ORGANISER"}},
        token=org.token(Role.ADMIN),
    )
    assert data["updateMember"]["userErrors"] == []
    return Expected("member.update", "User", trainer, org.members[Role.ADMIN].id)


async def set_member_active(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    organiser = org.members[Role.ORGANISER].id
    data = await gql.op(
        "SetMemberActive", {"id": str(organiser), "active": False}, token=org.token(Role.ADMIN)
    )
    assert data["setMemberActive"] == {
        "member": {"id": str(organiser), "active": False},
        "userErrors": [],
    }
    return Expected("member.deactivate", "User", organiser, org.members[Role.ADMIN].id)


async def set_member_active_again(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    organiser = org.members[Role.ORGANISER].id
    await set_member_active(gql, org, services)
    data = await gql.op(
        "SetMemberActive", {"id": str(organiser), "active": True}, token=org.token(Role.ADMIN)
    )
    assert data["setMemberActive"]["member"] == {"id": str(organiser), "active": True}
    return Expected("member.reactivate", "User", organiser, org.members[Role.ADMIN].id)


async def mark_notifications_read(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    user = org.members[Role.ORGANISER]
    notification = Notification(
        organisation_id=org.organisation.id,
        user_id=user.id,
        dedupe_key=f"audit-test:{uuid.uuid4()}",
        kind=NotificationKind.SYSTEM,
        title="Hello",
        body="Read me",
    )
    async with services.db.session() as session:
        session.add(notification)
        await session.commit()
    data = await gql(
        op("MarkNotificationsRead"),
        {"ids": [str(notification.id)]},
        token=org.token(Role.ORGANISER),
    )
    assert data["markNotificationsRead"]["userErrors"] == []
    return Expected("notification.mark_read", "Notification", notification.id, user.id)


async def update_notification_preferences(
    gql: GraphQLClient, org: Org, services: Services
) -> Expected:
    data = await gql(
        op("UpdateNotificationPreferences"),
        {"input": {"smsEnabled": True}},
        token=org.token(Role.TRAINER),
    )
    assert data["updateNotificationPreferences"]["userErrors"] == []
    user = org.members[Role.TRAINER].id
    return Expected("notification_preferences.update", "User", user, user)


# One case per mutation of the schema: a new mutation fails the test below until it has one.
CASES: dict[str, Run] = {
    "login": login,
    "refreshSession": refresh_session,
    "logout": logout,
    "requestPasswordReset": request_password_reset,
    "setPassword": set_password,
    "registerDevice": register_device,
    "unregisterDevice": unregister_device,
    "createArea": create_area,
    "inviteMember": invite_member,
    "updateMember": update_member,
    "setMemberActive": set_member_active,
    "markNotificationsRead": mark_notifications_read,
    "updateNotificationPreferences": update_notification_preferences,
}


# Mutations with more than one audited outcome: the others, beside the case above.
MORE_CASES: dict[str, Run] = {"setMemberActive(true)": set_member_active_again}


def test_every_mutation_has_an_audit_case() -> None:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    assert sorted(mutation.fields) == sorted(CASES)


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
    assert newest["actor"]["id"] == str(expected.actor_id)
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
    member = await _invite(gql, org, "between@audit.test")
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
