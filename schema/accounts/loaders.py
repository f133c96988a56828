"""The accounts domain's DataLoaders: organisations, members and areas by id."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import col
from strawberry.dataloader import DataLoader

from schema.loaders import by_id, organisation_of
from server.accounts.models import Area, Organisation, User, UserArea

if TYPE_CHECKING:
    from schema.context import Context


class AccountsLoaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.organisation: DataLoader[uuid.UUID, Organisation | None] = DataLoader(
            by_id(ctx, Organisation, scoped=False)
        )
        self.user: DataLoader[uuid.UUID, User | None] = DataLoader(by_id(ctx, User))
        self.area: DataLoader[uuid.UUID, Area | None] = DataLoader(by_id(ctx, Area))
        self.areas_of_user: DataLoader[uuid.UUID, list[Area]] = DataLoader(self._areas_of_users)

    async def _areas_of_users(self, user_ids: list[uuid.UUID]) -> list[list[Area]]:
        stmt = (
            sa.select(col(UserArea.user_id), Area)
            .join(Area, col(Area.id) == UserArea.area_id)
            .where(
                col(UserArea.user_id).in_(user_ids),
                col(Area.organisation_id) == organisation_of(self._ctx),
            )
            .order_by(Area.name)
        )
        grouped: dict[uuid.UUID, list[Area]] = defaultdict(list)
        async with self._ctx.db() as session:
            for user_id, area in (await session.execute(stmt)).all():
                grouped[user_id].append(area)
        return [grouped[u] for u in user_ids]
