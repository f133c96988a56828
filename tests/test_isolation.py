"""Organisations never see or change each other's data, through any operation.

Two organisations, "Ours" and "Theirs". Every case acts as members of Ours against what
Theirs has, and must neither show anything of Theirs nor change it. CASES holds one case
per root field of the schema; test_every_operation_has_a_case fails when a new query,
mutation or subscription has none: add one beside the others.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from schema import build_schema
from schema.context import Context
from server.accounts.models import Area, Device, User, UserArea
from server.audit.models import AuditEntry
from server.core.enums import Role
from server.core.services import Services
from server.notifications.live import channel_for, publish
from server.notifications.models import (
    ChannelName,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from server.outbox.models import OutboxMessage
from tests.conftest import PASSWORD, GraphQLClient, Org
from tests.contract_ops import op


@dataclass
class World:
    ours: Org
    theirs: Org
    services: Services
    gql: GraphQLClient
    their_area: Area
    their_device_id: str
    their_notification: Notification
    # Things of Theirs that no response to Ours may ever contain.
    secrets: set[str] = field(default_factory=set)
    responses: list[Any] = field(default_factory=list)
    # Ours registered Theirs' push token (a shared phone): the device left Theirs.
    their_device_moved: bool = False

    async def run(
        self, name: str, variables: dict[str, Any] | None = None, role: Role = Role.ADMIN
    ) -> dict[str, Any]:
        """A contract operation as a member of Ours; the response is checked for leaks."""
        body = await self.gql.raw(op(name), variables, token=self.ours.token(role))
        self.responses.append(body)
        return body

    async def data(
        self, name: str, variables: dict[str, Any] | None = None, role: Role = Role.ADMIN
    ) -> dict[str, Any]:
        body = await self.run(name, variables, role)
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    async def theirs_unchanged(self) -> None:
        """Theirs still has exactly what it had."""
        async with self.services.db.session() as session:
            areas = (
                await session.scalars(
                    sa.select(col(Area.name)).where(
                        col(Area.organisation_id) == self.theirs.organisation.id
                    )
                )
            ).all()
            users = (
                await session.execute(
                    sa.select(col(User.email), col(User.display_name), col(User.role)).where(
                        col(User.organisation_id) == self.theirs.organisation.id
                    )
                )
            ).all()
            device = await session.get(Device, uuid.UUID(self.their_device_id))
            notification = await session.get(Notification, self.their_notification.id)
            prefs = (await session.scalars(sa.select(NotificationPreference))).all()
        assert sorted(areas) == ["Theirs Secret Estate", "Theirs Ward"]
        assert sorted(users) == sorted(
            (u.email, u.display_name, u.role) for u in self.theirs.members.values()
        )
        if self.their_device_moved:
            assert device is None
        else:
            assert device is not None
            assert device.user_id == self.theirs.members[Role.ORGANISER].id
            assert device.disabled_at is None
        assert notification is not None and notification.read_at is None
        their_ids = {u.id for u in self.theirs.members.values()}
        assert not [p for p in prefs if p.user_id in their_ids]


@pytest.fixture
async def world(gql: GraphQLClient, make_org: Any, services: Services) -> World:
    ours: Org = await make_org("Ours")
    theirs: Org = await make_org("Theirs")

    data = await gql.op(
        "CreateArea",
        {"input": {"name": "Theirs Secret Estate", "parentId": str(theirs.area.id)}},
        token=theirs.token(),
    )
    their_area_id = uuid.UUID(data["createArea"]["area"]["id"])
    data = await gql.op(
        "RegisterDevice",
        {"input": {"platform": "ANDROID", "provider": "FCM", "token": "their-push-token"}},
        token=theirs.token(Role.ORGANISER),
    )
    their_device_id = data["registerDevice"]["device"]["id"]
    their_notification = Notification(
        organisation_id=theirs.organisation.id,
        user_id=theirs.members[Role.ORGANISER].id,
        dedupe_key=f"isolation:{uuid.uuid4()}",
        kind=NotificationKind.SYSTEM,
        title="Theirs private title",
        body="Theirs private body",
    )
    async with services.db.session() as session:
        session.add(their_notification)
        # Rows that should never exist, to prove the loaders scope by organisation even
        # then: one of Ours works in an area of Theirs; an area of Ours has a parent there.
        session.add(UserArea(user_id=ours.members[Role.ORGANISER].id, area_id=theirs.area.id))
        session.add(
            Area(organisation_id=ours.organisation.id, name="Ours Orphan", parent_id=their_area_id)
        )
        await session.commit()
        their_area = await session.get(Area, their_area_id)
    assert their_area is not None

    secrets = {
        str(theirs.organisation.id),
        "Theirs",
        str(theirs.area.id),
        str(their_area_id),
        their_device_id,
        str(their_notification.id),
        "their-push-token",
        *(str(u.id) for u in theirs.members.values()),
        *(u.email for u in theirs.members.values()),
    }
    return World(
        ours, theirs, services, gql, their_area, their_device_id, their_notification, secrets
    )


# --- Cases: one per root field ------------------------------------------------------------

Case = Callable[[World], Awaitable[None]]


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


async def audit_log(w: World) -> None:
    await w.data("CreateArea", {"input": {"name": "Ours Audited"}})
    data = await w.data("AuditLog", {"first": 100})
    entries = [e["node"] for e in data["auditLog"]["edges"]]
    assert [e["action"] for e in entries] == ["area.create"]
    for entity_type in ("Area", "Device", "User"):
        data = await w.data("AuditLog", {"first": 100, "entityType": entity_type})
        assert all(
            e["node"]["actor"]["id"] == str(w.ours.members[Role.ADMIN].id)
            for e in data["auditLog"]["edges"]
        )


async def notifications(w: World) -> None:
    for role in Role:
        data = await w.data("MyNotifications", {"first": 100}, role=role)
        assert data["notifications"]["edges"] == []
        assert data["notifications"]["unreadCount"] == 0


async def delivery_failures(w: World) -> None:
    async with w.services.db.session() as session:
        session.add(
            Delivery(
                notification_id=w.their_notification.id,
                channel=ChannelName.EMAIL,
                address=w.theirs.members[Role.ORGANISER].email,
                status=DeliveryStatus.DEAD,
                attempts=6,
                last_error="Theirs mailbox full",
            )
        )
        await session.commit()
    w.secrets.add("Theirs mailbox full")
    query = "{ deliveryFailures(first: 100) { totalCount edges { node { id lastError } } } }"
    body = await w.gql.raw(query, token=w.ours.token(Role.ADMIN))
    w.responses.append(body)
    assert body["data"] == {"deliveryFailures": {"totalCount": 0, "edges": []}}
    for role in (Role.SENIOR_ORGANISER, Role.TRAINER, Role.ORGANISER):
        body = await w.gql.raw(query, token=w.ours.token(role))
        w.responses.append(body)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


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


async def unregister_device(w: World) -> None:
    for role in Role:
        data = await w.data("UnregisterDevice", {"id": w.their_device_id}, role=role)
        assert data["unregisterDevice"] == {
            "ok": False,
            "userErrors": [{"field": "id", "message": "No such device.", "code": "NOT_FOUND"}],
        }


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


async def mark_notifications_read(w: World) -> None:
    their_id = str(w.their_notification.id)
    for role in Role:
        data = await w.data("MarkNotificationsRead", {"ids": [their_id]}, role=role)
        assert data["markNotificationsRead"]["userErrors"] == [
            {"field": "ids.0", "message": "No such notification.", "code": "NOT_FOUND"}
        ]


async def update_notification_preferences(w: World) -> None:
    data = await w.data(
        "UpdateNotificationPreferences",
        {"input": {"pushEnabled": False, "digest": "NEVER"}},
        role=Role.ORGANISER,
    )
    prefs = data["updateNotificationPreferences"]["notificationPreferences"]
    assert prefs["pushEnabled"] is False


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


async def notification_received(w: World) -> None:
    """The live feed carries the subscriber's own notifications only."""
    ours = w.ours.members[Role.ORGANISER]
    actor = w.ours.actor(Role.ORGANISER)
    schema = build_schema(w.services.settings)
    ctx = Context(services=w.services, request=None, actor=None)
    ctx.sign_in(w.services.access_tokens.decode(w.ours.token(Role.ORGANISER)))
    assert ctx.actor == actor
    stream = await schema.subscribe(op("OnNotification"), context_value=ctx)
    assert not isinstance(stream, Exception) and hasattr(stream, "__anext__"), stream
    first = asyncio.ensure_future(stream.__anext__())
    channel = channel_for(w.services.settings.redis_prefix, ours.id)
    for _ in range(1000):  # until the stream listens (or has failed)
        if first.done() or (await w.services.redis.pubsub_numsub(channel))[0][1]:
            break
        await asyncio.sleep(0.01)
    mine = Notification(
        organisation_id=w.ours.organisation.id,
        user_id=ours.id,
        dedupe_key=f"isolation:{uuid.uuid4()}",
        kind=NotificationKind.SYSTEM,
        title="Ours title",
        body="Ours body",
    )
    await publish(w.services.redis, w.services.settings.redis_prefix, [w.their_notification, mine])
    try:
        result = await asyncio.wait_for(first, timeout=10)
    finally:
        await stream.aclose()
        await ctx.close()
    assert result.errors is None, result.errors
    w.responses.append(result.data)
    assert result.data == {
        "notificationReceived": {
            "id": str(mine.id),
            "kind": "SYSTEM",
            "title": "Ours title",
            "body": "Ours body",
            "link": None,
            "createdAt": mine.created_at.isoformat().replace("+00:00", "Z"),
        }
    }


CASES: dict[str, Case] = {
    # queries
    "me": me,
    "areas": areas,
    "members": members,
    "auditLog": audit_log,
    "notifications": notifications,
    "deliveryFailures": delivery_failures,
    # mutations
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
    # subscriptions
    "notificationReceived": notification_received,
}


def root_fields() -> set[str]:
    schema = build_schema()._schema
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return {name for root in roots if root is not None for name in root.fields}


def test_every_operation_has_a_case() -> None:
    assert sorted(root_fields()) == sorted(CASES)


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
