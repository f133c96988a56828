"""Mutations of the accounts domain: sessions, passwords, devices, areas, members."""

from __future__ import annotations

import strawberry

from schema.accounts.types import AreaType, DeviceType, SessionType, UserType
from schema.context import Info
from schema.enums import Platform, PushProvider, Role
from schema.errors import OkPayload, UserError
from schema.ids import parse_id, parse_ids
from schema.lists import MAX_IDS, MAX_POSTCODE_PREFIXES, capped
from schema.mutation import attempt
from schema.permissions import IsAuthenticated
from server.accounts import areas, devices, members, sessions


@strawberry.type
class AuthPayload:
    session: SessionType | None = None
    user: UserType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, issued: sessions.IssuedSession | None, errors: list[UserError]) -> AuthPayload:
        if issued is None:
            return cls(user_errors=errors)
        return cls(session=SessionType.of(issued), user=UserType.of(issued.user))


@strawberry.type
class RefreshSessionPayload:
    session: SessionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RequestPasswordResetPayload:
    ok: bool


@strawberry.input
class SetPasswordInput:
    token: str
    password: str


@strawberry.input
class RegisterDeviceInput:
    platform: Platform
    provider: PushProvider
    token: str
    locale: str | None = None


@strawberry.type
class RegisterDevicePayload:
    device: DeviceType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateAreaInput:
    name: str
    kind: str | None = None
    parent_id: strawberry.ID | None = None
    postcode_prefixes: list[str] | None = strawberry.field(
        default=None, description=f"At most {MAX_POSTCODE_PREFIXES} prefixes."
    )


@strawberry.type
class CreateAreaPayload:
    area: AreaType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class InviteMemberInput:
    email: str
    display_name: str
    role: Role
    area_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"At most {MAX_IDS} areas."
    )


@strawberry.type
class InviteMemberPayload:
    member: UserType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateMemberInput:
    """Only the fields given change; areaIds replaces the member's areas."""

    display_name: str | None = None
    role: Role | None = None
    area_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description=f"At most {MAX_IDS} areas."
    )


@strawberry.type
class UpdateMemberPayload:
    member: UserType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SetMemberActivePayload:
    member: UserType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation
    async def login(self, info: Info, email: str, password: str) -> AuthPayload:
        ctx = info.context
        issued, errors = await attempt(
            ctx, lambda s: sessions.login(s, ctx.services, email, password, ctx.client_address)
        )
        return AuthPayload.of(issued, errors)

    @strawberry.mutation(
        description="Rotate the refresh token; reuse of an old one ends the family."
    )
    async def refresh_session(self, info: Info, refresh_token: str) -> RefreshSessionPayload:
        ctx = info.context
        issued, errors = await attempt(
            ctx, lambda s: sessions.refresh(s, ctx.services, refresh_token)
        )
        return RefreshSessionPayload(
            session=SessionType.of(issued) if issued else None, user_errors=errors
        )

    @strawberry.mutation
    async def logout(self, info: Info, refresh_token: str) -> OkPayload:
        ctx = info.context
        _, errors = await attempt(ctx, lambda s: sessions.logout(s, ctx.services, refresh_token))
        return OkPayload(ok=not errors, user_errors=errors)

    @strawberry.mutation(description="Answers ok whether or not the email has an account.")
    async def request_password_reset(self, info: Info, email: str) -> RequestPasswordResetPayload:
        ctx = info.context
        await attempt(
            ctx,
            lambda s: sessions.request_password_reset(s, ctx.services, email, ctx.client_address),
        )
        return RequestPasswordResetPayload(ok=True)

    @strawberry.mutation
    async def set_password(self, info: Info, input: SetPasswordInput) -> AuthPayload:
        ctx = info.context
        issued, errors = await attempt(
            ctx, lambda s: sessions.set_password(s, ctx.services, input.token, input.password)
        )
        return AuthPayload.of(issued, errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def register_device(
        self, info: Info, input: RegisterDeviceInput
    ) -> RegisterDevicePayload:
        ctx = info.context
        data = devices.NewDevice(input.platform, input.provider, input.token, input.locale)
        device, errors = await attempt(
            ctx, lambda s: devices.register_device(s, ctx.require_actor(), data)
        )
        return RegisterDevicePayload(
            device=DeviceType.of(device) if device else None, user_errors=errors
        )

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def unregister_device(self, info: Info, id: strawberry.ID) -> OkPayload:
        ctx = info.context
        _, errors = await attempt(
            ctx,
            lambda s: devices.unregister_device(
                s, ctx.require_actor(), parse_id(id, "id", "device")
            ),
        )
        return OkPayload(ok=not errors, user_errors=errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def create_area(self, info: Info, input: CreateAreaInput) -> CreateAreaPayload:
        ctx = info.context

        async def work(session: areas.AsyncSession) -> areas.Area:
            data = areas.NewArea(
                name=input.name,
                kind=input.kind,
                parent_id=parse_id(input.parent_id, "input.parentId", "area")
                if input.parent_id
                else None,
                postcode_prefixes=capped(
                    input.postcode_prefixes,
                    MAX_POSTCODE_PREFIXES,
                    "input.postcodePrefixes",
                    "postcode prefixes",
                ),
            )
            return await areas.create_area(session, ctx.require_actor(), data)

        area, errors = await attempt(ctx, work)
        return CreateAreaPayload(area=AreaType.of(area) if area else None, user_errors=errors)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def invite_member(self, info: Info, input: InviteMemberInput) -> InviteMemberPayload:
        ctx = info.context

        async def work(session: areas.AsyncSession) -> members.User:
            data = members.Invitation(
                email=input.email,
                display_name=input.display_name,
                role=input.role,
                area_ids=parse_ids(input.area_ids, "input.areaIds", "area"),
            )
            return await members.invite_member(session, ctx.services, ctx.require_actor(), data)

        user, errors = await attempt(ctx, work)
        return InviteMemberPayload(member=UserType.of(user) if user else None, user_errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins only. The organisation always keeps an active ADMIN. A new role "
        "ends the member's sessions: they sign in again.",
    )
    async def update_member(
        self, info: Info, id: strawberry.ID, input: UpdateMemberInput
    ) -> UpdateMemberPayload:
        ctx = info.context

        async def work(session: areas.AsyncSession) -> members.User:
            changes = members.MemberChanges(
                display_name=input.display_name,
                role=input.role,
                area_ids=parse_ids(input.area_ids, "input.areaIds", "area")
                if input.area_ids is not None
                else None,
            )
            member_id = parse_id(id, "id", "member")
            return await members.update_member(
                session, ctx.services, ctx.require_actor(), member_id, changes
            )

        user, errors = await attempt(ctx, work)
        return UpdateMemberPayload(member=UserType.of(user) if user else None, user_errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Admins only. Deactivating ends all of the member's sessions at once and "
        "stops their pushes; reactivating lets them sign in again with their password.",
    )
    async def set_member_active(
        self, info: Info, id: strawberry.ID, active: bool
    ) -> SetMemberActivePayload:
        ctx = info.context

        async def work(session: areas.AsyncSession) -> members.User:
            member_id = parse_id(id, "id", "member")
            return await members.set_member_active(
                session, ctx.services, ctx.require_actor(), member_id, active
            )

        user, errors = await attempt(ctx, work)
        return SetMemberActivePayload(
            member=UserType.of(user) if user else None, user_errors=errors
        )
