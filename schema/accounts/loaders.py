"""The accounts domain's DataLoaders: organisations, members and areas by id.

They load plain rows of the columns the types show (no tracked ORM objects), and a list
resolver primes them with the rows it already has (docs/decisions/0009).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import strawberry
from sqlmodel import col
from strawberry.dataloader import DataLoader

from schema.loaders import by_ids, organisation_of, rows_by_id
from server.accounts.areas import AREA_COLUMNS
from server.accounts.members import USER_COLUMNS
from server.accounts.models import Area, Organisation, User, UserArea

if TYPE_CHECKING:
    from schema.accounts.types import OrganisationType
    from schema.context import Context

Row = sa.Row[Any]

# Built once (bound per request): see docs/decisions/0009.
_USERS = by_ids(USER_COLUMNS, scoped=col(User.organisation_id))
_AREAS = by_ids(AREA_COLUMNS, scoped=col(Area.organisation_id))
_AREAS_OF_USERS = (
    sa.select(col(UserArea.user_id).label("user_id"), *AREA_COLUMNS)
    .join(Area, col(Area.id) == UserArea.area_id)
    .where(
        col(UserArea.user_id).in_(sa.bindparam("user_ids", expanding=True)),
        col(Area.organisation_id) == sa.bindparam("organisation_id"),
    )
    .order_by(Area.name)
)


class AccountsLoaders:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.organisation: DataLoader[uuid.UUID, OrganisationType | None] = DataLoader(
            self._organisations
        )
        self.user: DataLoader[uuid.UUID, Row | None] = DataLoader(rows_by_id(ctx, _USERS))
        self.area: DataLoader[uuid.UUID, Row | None] = DataLoader(rows_by_id(ctx, _AREAS))
        self.areas_of_user: DataLoader[uuid.UUID, list[Row]] = DataLoader(self._areas_of_users)

    async def _organisations(self, ids: list[uuid.UUID]) -> list[OrganisationType | None]:
        """Not scoped: every member the API shows is of the caller's organisation."""
        from schema.accounts.types import OrganisationType

        stmt = sa.select(col(Organisation.id), col(Organisation.name)).where(
            col(Organisation.id).in_(ids)
        )
        async with self._ctx.db() as session:
            found = {
                row.id: OrganisationType(id=strawberry.ID(str(row.id)), name=row.name)
                for row in await session.execute(stmt)
            }
        return [found.get(i) for i in ids]

    async def _areas_of_users(self, user_ids: list[uuid.UUID]) -> list[list[Row]]:
        params = {"user_ids": user_ids, "organisation_id": organisation_of(self._ctx)}
        grouped: dict[uuid.UUID, list[Row]] = defaultdict(list)
        async with self._ctx.db() as session:
            for row in await session.execute(_AREAS_OF_USERS, params):
                grouped[row.user_id].append(row)
        return [grouped[u] for u in user_ids]
