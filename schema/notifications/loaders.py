"""The notifications domain's DataLoaders: each member's preferences."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col
from strawberry.dataloader import DataLoader

from server.notifications.models import NotificationPreference, defaults_for

if TYPE_CHECKING:
    from schema.context import Context


class NotificationsLoaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        # Stored preferences (or a row with their columns, primed by `me`), else defaults.
        self.preferences: DataLoader[uuid.UUID, NotificationPreference | sa.Row[Any]] = DataLoader(
            self._preferences
        )

    async def _preferences(
        self, user_ids: list[uuid.UUID]
    ) -> list[NotificationPreference | sa.Row[Any]]:
        stmt = sa.select(NotificationPreference).where(
            col(NotificationPreference.user_id).in_(user_ids)
        )
        async with self._ctx.db() as session:
            found = {p.user_id: p for p in (await session.scalars(stmt)).all()}
        return [found.get(u) or defaults_for(u) for u in user_ids]
