"""Queries of the accounts domain."""

from __future__ import annotations

import strawberry

from schema.accounts.loaders import AccountsLoaders
from schema.accounts.types import AreaType, OrganisationType, UserType
from schema.context import Info
from schema.enums import Role
from schema.notifications.loaders import NotificationsLoaders
from schema.pagination import Connection, connection, page_request, selects
from schema.permissions import IsAuthenticated
from server.accounts import areas, members
from server.core.errors import AccessDenied
from server.notifications.models import defaults_for


@strawberry.input
class MemberFilter:
    role: Role | None = None
    active: bool | None = strawberry.field(
        default=True, description="Active members by default; false for deactivated, null for all."
    )


@strawberry.type
class AccountsQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="The signed-in member.")
    async def me(self, info: Info) -> UserType:
        ctx = info.context
        actor = ctx.require_actor()
        async with ctx.db() as session:
            row = await members.signed_in_member(session, actor)
        if row is None or not row.is_active:
            raise AccessDenied("UNAUTHENTICATED")
        # What the row holds already needs no query of its own.
        loaders = ctx.loaders(AccountsLoaders)
        loaders.user.prime(row.id, row)
        loaders.organisation.prime(
            row.organisation_id,
            OrganisationType(
                id=strawberry.ID(str(row.organisation_id)), name=row.organisation_name
            ),
        )
        ctx.loaders(NotificationsLoaders).preferences.prime(
            row.id, row if row.preferences_id is not None else defaults_for(row.id)
        )
        return UserType.of(row)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def areas(
        self, info: Info, first: int | None = 100, after: str | None = None
    ) -> Connection[AreaType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page = await areas.list_areas(session, ctx.require_actor(), request)
        loader = ctx.loaders(AccountsLoaders).area
        nodes = {}
        for area in page.items:  # parents on this page need no query of their own
            loader.prime(area.id, area)
            nodes[area.id] = AreaType.of(area)
        for node in nodes.values():
            if node._parent_id is not None:
                node._parent = nodes.get(node._parent_id)
        return connection(ctx, page, lambda area: nodes[area.id])

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Members of the organisation (admins, senior organisers and trainers): "
        "the active ones unless the filter asks for others.",
    )
    async def members(
        self,
        info: Info,
        filter: MemberFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[UserType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page = await members.list_members(
                session,
                ctx.require_actor(),
                request,
                role=filter.role if filter else None,
                active=filter.active if filter else True,
            )
        loaders = ctx.loaders(AccountsLoaders)
        for user in page.items:
            loaders.user.prime(user.id, user)
        if not page.items or not selects(info, "edges", "node", "areas"):
            return connection(ctx, page, UserType.of)
        # Every member's areas in one statement, handed to each member as it is built.
        areas = await loaders.areas_of_user.load_many([user.id for user in page.items])
        by_user = {
            user.id: [AreaType.of(a) for a in found]
            for user, found in zip(page.items, areas, strict=True)
        }
        return connection(ctx, page, lambda user: UserType.of(user, by_user[user.id]))
