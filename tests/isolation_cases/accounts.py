"""Isolation cases for the accounts domain's root fields."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import Device, User
from server.core.enums import Role
from server.outbox.models import OutboxMessage
from tests.conftest import PASSWORD
from tests.contract_ops import op
from tests.isolation_cases import Case, World


async def me(w: World) -> None:
    for role in Role:
        data = await w.data("Me", role=role)
        assert data["me"]["id"] == str(w.ours.members[role].id)
        assert data["me"]["organisation"] == {"id": str(w.ours.organisation.id), "name": "Ours"}
    # Ours' organiser is linked to an area of Theirs (a row that should not exist): hidden.
    data = await w.data("Me", role=Role.ORGANISER)
    assert data["me"]["areas"] == []


async def areas(w: World) -> None:
    for role in Role:
        data = await w.data("Areas", role=role)
        nodes = {e["node"]["name"]: e["node"] for e in data["areas"]["edges"]}
        assert sorted(nodes) == ["Ours Orphan", "Ours Ward"]
        # Area.parent never crosses, even for a row pointing across.
        assert nodes["Ours Orphan"]["parent"] is None


async def members(w: World) -> None:
    for role in (Role.ADMIN, Role.SENIOR_ORGANISER, Role.TRAINER):
        data = await w.data("Members", {"first": 100}, role=role)
        assert data["members"]["totalCount"] == 4
        emails = sorted(e["node"]["email"] for e in data["members"]["edges"])
        assert emails == sorted(u.email for u in w.ours.members.values())
        # User.areas never crosses.
        assert all(
            e["node"]["areas"] in ([], [{"id": str(w.ours.area.id), "name": "Ours Ward"}])
            for e in data["members"]["edges"]
        )
    data = await w.data("Members", {"role": "ORGANISER"})
    assert [e["node"]["email"] for e in data["members"]["edges"]] == ["organiser@ours.test"]


async def login(w: World) -> None:
    # Credentials decide who signs in; Ours' bearer token on the request changes nothing.
    data = await w.data("Login", {"email": w.ours.members[Role.ADMIN].email, "password": PASSWORD})
    assert data["login"]["user"]["id"] == str(w.ours.members[Role.ADMIN].id)
    data = await w.data(
        "Login", {"email": w.theirs.members[Role.ADMIN].email, "password": "not the password"}
    )
    assert data["login"]["session"] is None


async def refresh_session(w: World) -> None:
    data = await w.data("RefreshSession", {"refreshToken": "not-one-of-theirs"})
    assert [e["code"] for e in data["refreshSession"]["userErrors"]] == ["EXPIRED"]


async def logout(w: World) -> None:
    data = await w.data("Logout", {"refreshToken": "not-one-of-theirs"})
    assert data["logout"]["ok"] is True


async def request_password_reset(w: World) -> None:
    # Ours may ask, like anyone; the link goes to Theirs' own address only, never to Ours.
    data = await w.data("RequestPasswordReset", {"email": w.theirs.members[Role.ADMIN].email})
    assert data["requestPasswordReset"] == {"ok": True}
    async with w.services.db.session() as session:
        staged = (await session.scalars(sa.select(col(OutboxMessage.payload)))).all()
    assert [p["to"] for p in staged if p.get("template") == "password_reset"] == [
        w.theirs.members[Role.ADMIN].email
    ]
    w.secrets.discard(w.theirs.members[Role.ADMIN].email)  # Ours sent it itself


async def set_password(w: World) -> None:
    data = await w.data("SetPassword", {"input": {"token": "guess", "password": PASSWORD}})
    assert [e["code"] for e in data["setPassword"]["userErrors"]] == ["EXPIRED"]


async def register_device(w: World) -> None:
    """Ours signs in on Theirs' phone: the device moves, and nobody learns whose it was."""
    data = await w.data(
        "RegisterDevice",
        {"input": {"platform": "ANDROID", "provider": "FCM", "token": "their-push-token"}},
        role=Role.ORGANISER,
    )
    assert data["registerDevice"]["userErrors"] == []
    our_device_id = data["registerDevice"]["device"]["id"]
    assert our_device_id != w.their_device_id
    w.their_device_moved = True
    async with w.services.db.session() as session:
        device = await session.get(Device, uuid.UUID(our_device_id))
    assert device is not None and device.user_id == w.ours.members[Role.ORGANISER].id
    # Theirs can touch neither the device it had nor the one Ours has now.
    for device_id in (w.their_device_id, our_device_id):
        body = await w.gql.raw(
            op("UnregisterDevice"), {"id": device_id}, token=w.theirs.token(Role.ORGANISER)
        )
        assert [e["code"] for e in body["data"]["unregisterDevice"]["userErrors"]] == ["NOT_FOUND"]


async def unregister_device(w: World) -> None:
    for role in Role:
        data = await w.data("UnregisterDevice", {"id": w.their_device_id}, role=role)
        assert data["unregisterDevice"] == {
            "ok": False,
            "userErrors": [{"field": "id", "message": "No such device.", "code": "NOT_FOUND"}],
        }


async def create_area(w: World) -> None:
    for parent in (w.theirs.area.id, w.their_area.id):
        data = await w.data("CreateArea", {"input": {"name": "Sneaky", "parentId": str(parent)}})
        assert data["createArea"] == {
            "area": None,
            "userErrors": [
                {"field": "input.parentId", "message": "No such area.", "code": "NOT_FOUND"}
            ],
        }
    # A name that Theirs uses is free in Ours.
    data = await w.data("CreateArea", {"input": {"name": "Theirs Ward"}})
    assert data["createArea"]["userErrors"] == []
    w.secrets.discard("Theirs")  # Ours now has an area of that name itself


async def invite_member(w: World) -> None:
    data = await w.data(
        "InviteMember",
        {
            "input": {
                "email": "new@ours.test",
                "displayName": "New",
                "role": "ORGANISER",
                "areaIds": [str(w.ours.area.id), str(w.theirs.area.id)],
            }
        },
    )
    assert data["inviteMember"] == {
        "member": None,
        "userErrors": [
            {"field": "input.areaIds.1", "message": "No such area.", "code": "NOT_FOUND"}
        ],
    }
    for role in Role:
        for inviter in (Role.ADMIN, Role.SENIOR_ORGANISER):
            data = await w.data(
                "InviteMember",
                {
                    "input": {
                        "email": w.theirs.members[role].email.upper(),
                        "displayName": "Taken Over",
                        "role": "ORGANISER",
                    }
                },
                role=inviter,
            )
            assert data["inviteMember"]["member"] is None
            assert [(e["field"], e["code"]) for e in data["inviteMember"]["userErrors"]] == [
                ("input.email", "INVALID")
            ]
    async with w.services.db.session() as session:
        staged = (await session.scalars(sa.select(col(OutboxMessage.payload)))).all()
    assert not [p for p in staged if "theirs" in json.dumps(p)]


async def update_member(w: World) -> None:
    for role in Role:
        data = await w.data(
            "UpdateMember",
            {
                "id": str(w.theirs.members[role].id),
                "input": {"displayName": "Taken", "role": "ADMIN"},
            },
        )
        assert data["updateMember"] == {
            "member": None,
            "userErrors": [{"field": "id", "message": "No such member.", "code": "NOT_FOUND"}],
        }
    # An area of Theirs cannot be given to a member of Ours.
    organiser = str(w.ours.members[Role.ORGANISER].id)
    data = await w.data(
        "UpdateMember",
        {"id": organiser, "input": {"areaIds": [str(w.ours.area.id), str(w.theirs.area.id)]}},
    )
    assert data["updateMember"]["userErrors"] == [
        {"field": "input.areaIds.1", "message": "No such area.", "code": "NOT_FOUND"}
    ]
    for role in (Role.SENIOR_ORGANISER, Role.TRAINER, Role.ORGANISER):
        body = await w.run(
            "UpdateMember",
            {"id": str(w.theirs.members[Role.ADMIN].id), "input": {"displayName": "X"}},
            role=role,
        )
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def set_member_active(w: World) -> None:
    for role in Role:
        for active in (False, True):
            data = await w.data(
                "SetMemberActive", {"id": str(w.theirs.members[role].id), "active": active}
            )
            assert data["setMemberActive"] == {
                "member": None,
                "userErrors": [{"field": "id", "message": "No such member.", "code": "NOT_FOUND"}],
            }
    async with w.services.db.session() as session:
        inactive = (
            await session.scalars(sa.select(User).where(col(User.is_active).is_(False)))
        ).all()
    assert inactive == []
    # Theirs' tokens still work.
    data = await w.gql.op("Me", token=w.theirs.token(Role.ORGANISER))
    assert data["me"]["id"] == str(w.theirs.members[Role.ORGANISER].id)


CASES: dict[str, Case] = {
    "me": me,
    "areas": areas,
    "members": members,
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
