"""Audit cases for the accounts domain's mutations."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import sqlalchemy as sa
from sqlmodel import col

from server.core.enums import Role
from server.core.services import Services
from server.outbox.models import OutboxMessage
from tests.audit_cases import Expected, Run, invite
from tests.conftest import PASSWORD, GraphQLClient, Org


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


async def set_password(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    email = f"new-{uuid.uuid4().hex[:6]}@audit.test"
    member_id = await invite(gql, org, email)
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
    member_id = await invite(gql, org, "invited@audit.test")
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
}


# Mutations with more than one audited outcome: the others, beside the case above.
MORE_CASES: dict[str, Run] = {
    "setMemberActive(true)": set_member_active_again,
}
