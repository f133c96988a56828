"""What every isolation case shares: the two organisations and the checks on Theirs.

Each domain's cases live in ``tests/isolation_cases/<domain>.py``, whose ``CASES`` holds one
case per root field that domain adds to the schema (tests/test_isolation.py gathers them).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import Area, Device, User, UserArea
from server.core.enums import Role
from server.core.services import Services
from server.notifications.models import (
    Notification,
    NotificationKind,
    NotificationPreference,
)
from tests.conftest import GraphQLClient, Org
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


async def make_world(gql: GraphQLClient, make_org: Any, services: Services) -> World:
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


# A case acts as members of Ours and records every response it was shown.
Case = Callable[[World], Awaitable[None]]
