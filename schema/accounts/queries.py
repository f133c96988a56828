"""Queries of the accounts domain."""

from __future__ import annotations

import strawberry

from schema.accounts.loaders import AccountsLoaders
from schema.accounts.types import AreaType, UserType
from schema.context import Info
from schema.enums import Role
from schema.pagination import Connection, connection, page_request
from schema.permissions import IsAuthenticated
from server.accounts import areas, members
from server.core.errors import AccessDenied


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
        actor = info.context.require_actor()
        user = await info.context.loaders(AccountsLoaders).user.load(actor.user_id)
        if user is None or not user.is_active:
            raise AccessDenied("UNAUTHENTICATED")
        return UserType.of(user)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def areas(
        self, info: Info, first: int | None = 100, after: str | None = None
    ) -> Connection[AreaType]:
        ctx = info.context
        request = page_request(ctx, first, after)
        async with ctx.db() as session:
            page = await areas.list_areas(session, ctx.require_actor(), request)
        loader = ctx.loaders(AccountsLoaders).area
        for area in page.items:  # parents on this page need no query of their own
            loader.prime(area.id, area)
        return connection(ctx, page, AreaType.of)

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
        loader = ctx.loaders(AccountsLoaders).user
        for user in page.items:
            loader.prime(user.id, user)
        return connection(ctx, page, UserType.of)
