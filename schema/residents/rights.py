"""A resident's data rights by their manage token (StopContact, MyData, EraseMyData), an
admin's EraseResident, and the organisation's settings for residents' data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.unset import UNSET

from schema.context import Context, Info
from schema.errors import OkPayload, UserError, user_errors
from schema.ids import parse_id
from schema.mutation import attempt
from schema.permissions import IsAuthenticated
from schema.residents.public import allowed, rate_limited, require_allowed
from schema.residents.rights_types import MyDataType, ResidentSettingsType
from server.residents import erasure, retention, rights


async def _by_token(
    ctx: Context, token: str, work: Callable[[AsyncSession], Awaitable[None]]
) -> OkPayload:
    """A manage-token mutation: rate limited first, then ``work``."""
    if not await allowed(ctx, token):
        return OkPayload(ok=False, user_errors=user_errors(rate_limited()))
    _, errors = await attempt(ctx, work)
    return _done(errors)


def _done(errors: list[UserError]) -> OkPayload:
    return OkPayload(ok=not errors, user_errors=errors)


@strawberry.input
class ResidentSettingsInput:
    retention_months: int | None = strawberry.field(
        default=None, description="1 to 120; null or left out: unchanged."
    )
    privacy_notice: str | None = strawberry.field(
        default=UNSET, description="Left out: unchanged; null or blank: the standard notice."
    )


@strawberry.type
class SetResidentSettingsPayload:
    resident_settings: ResidentSettingsType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResidentRightsQueries:
    @strawberry.field(
        description="Everything held about the holder of this manage token; null when the "
        "token is unknown or their data was erased. Rate limited (RATE_LIMITED)."
    )
    async def my_data(self, info: Info, manage_token: str) -> MyDataType | None:
        ctx = info.context
        await require_allowed(ctx, manage_token)
        async with ctx.db() as session:
            data = await rights.my_data(session, manage_token)
            await session.commit()  # the token's last use
        return MyDataType.of(data) if data is not None else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Admins: how the organisation keeps residents' data.",
    )
    async def resident_settings(self, info: Info) -> ResidentSettingsType:
        ctx = info.context
        async with ctx.db() as session:
            view = await retention.resident_settings(session, ctx.require_actor())
        return ResidentSettingsType.of(view)


@strawberry.type
class ResidentRightsMutations:
    @strawberry.mutation(
        description="Withdraw consent to be contacted again or to hear back; pending "
        "messages to the resident are cancelled."
    )
    async def stop_contact(self, info: Info, manage_token: str) -> OkPayload:
        async def work(session: AsyncSession) -> None:
            await rights.stop_contact(session, manage_token)

        return await _by_token(info.context, manage_token, work)

    @strawberry.mutation(
        description="Erase everything that identifies the holder of this manage token; "
        "anonymous answers stay in the counts. The token stops working."
    )
    async def erase_my_data(self, info: Info, manage_token: str) -> OkPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> None:
            await erasure.erase_my_data_and_commit(ctx.services, session, manage_token)

        return await _by_token(ctx, manage_token, work)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins: erase a resident of the organisation as EraseMyData would "
        "(ALREADY_DONE when erased before).",
    )
    async def erase_resident(self, info: Info, id: strawberry.ID) -> OkPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> None:
            resident_id = parse_id(id, "id", "resident")
            await erasure.erase_resident_by_admin(
                ctx.services, session, ctx.require_actor(), resident_id
            )

        _, errors = await attempt(ctx, work)
        return _done(errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins: how long residents' details are kept, and the privacy notice.",
    )
    async def set_resident_settings(
        self, info: Info, input: ResidentSettingsInput
    ) -> SetResidentSettingsPayload:
        ctx = info.context
        change_notice = input.privacy_notice is not UNSET

        async def work(session: AsyncSession) -> retention.SettingsView:
            view = await retention.set_resident_settings(
                session,
                ctx.require_actor(),
                input.retention_months,
                input.privacy_notice if change_notice else None,
                change_notice=change_notice,
            )
            return view

        view, errors = await attempt(ctx, work)
        return SetResidentSettingsPayload(
            resident_settings=ResidentSettingsType.of(view) if view else None, user_errors=errors
        )
