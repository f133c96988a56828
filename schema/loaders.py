"""DataLoaders: one set per request, so a list of N objects costs one query per relation."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlmodel import col
from strawberry.dataloader import DataLoader

from server.accounts.models import Area, Organisation, User, UserArea
from server.notifications.models import NotificationPreference, defaults_for

if TYPE_CHECKING:
    from schema.context import Context

M = TypeVar("M")
LoadFn = Callable[[list[uuid.UUID]], Coroutine[Any, Any, Sequence[Any]]]


class Loaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.organisation: DataLoader[uuid.UUID, Organisation | None] = DataLoader(
            self._by_id(Organisation, scoped=False)
        )
        self.user: DataLoader[uuid.UUID, User | None] = DataLoader(self._by_id(User))
        self.area: DataLoader[uuid.UUID, Area | None] = DataLoader(self._by_id(Area))
        self.areas_of_user: DataLoader[uuid.UUID, list[Area]] = DataLoader(self._areas_of_users)
        self.preferences: DataLoader[uuid.UUID, NotificationPreference] = DataLoader(
            self._preferences
        )

    def _by_id(self, model: Any, *, scoped: bool = True) -> LoadFn:
        """Rows by id; scoped loaders only ever return rows of the caller's organisation."""

        async def load(ids: list[uuid.UUID]) -> list[Any]:
            stmt = sa.select(model).where(model.id.in_(ids))
            if scoped:
                stmt = stmt.where(model.organisation_id == self._organisation_id())
            async with self._ctx.db() as session:
                rows = {row.id: row for row in (await session.scalars(stmt)).all()}
            return [rows.get(i) for i in ids]

        return load

    def _organisation_id(self) -> uuid.UUID | None:
        return self._ctx.actor.organisation_id if self._ctx.actor else None

    async def _areas_of_users(self, user_ids: list[uuid.UUID]) -> list[list[Area]]:
        stmt = (
            sa.select(col(UserArea.user_id), Area)
            .join(Area, col(Area.id) == UserArea.area_id)
            .where(
                col(UserArea.user_id).in_(user_ids),
                col(Area.organisation_id) == self._organisation_id(),
            )
            .order_by(Area.name)
        )
        grouped: dict[uuid.UUID, list[Area]] = defaultdict(list)
        async with self._ctx.db() as session:
            for user_id, area in (await session.execute(stmt)).all():
                grouped[user_id].append(area)
        return [grouped[u] for u in user_ids]

    async def _preferences(self, user_ids: list[uuid.UUID]) -> list[NotificationPreference]:
        stmt = sa.select(NotificationPreference).where(
            col(NotificationPreference.user_id).in_(user_ids)
        )
        async with self._ctx.db() as session:
            found = {p.user_id: p for p in (await session.scalars(stmt)).all()}
        return [found.get(u) or defaults_for(u) for u in user_ids]
