"""GraphQL types of organisations, areas, members, devices and sessions."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Optional, Protocol

import sqlalchemy as sa
import strawberry

from schema.accounts.loaders import AccountsLoaders
from schema.context import Info
from schema.enums import Platform, PushProvider, Role
from schema.notifications.enums import DigestFrequency
from schema.notifications.loaders import NotificationsLoaders
from server.accounts import models
from server.accounts.members import USER_COLUMNS
from server.accounts.sessions import IssuedSession
from server.notifications.models import NotificationPreference


@strawberry.type(name="Organisation")
class OrganisationType:
    id: strawberry.ID
    name: str

    @classmethod
    def of(cls, org: models.Organisation | sa.Row[Any]) -> OrganisationType:
        return cls(id=strawberry.ID(str(org.id)), name=org.name)


class AreaFields(Protocol):
    """An area as stored: a model, or a plain row of server.accounts.areas.AREA_COLUMNS."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def parent_id(self) -> uuid.UUID | None: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def postcode_prefixes(self) -> list[str] | None: ...


class UserFields(Protocol):
    """A member as stored: a model, or a plain row of server.accounts.members.USER_COLUMNS."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def organisation_id(self) -> uuid.UUID: ...
    @property
    def display_name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def locale(self) -> str: ...
    @property
    def role(self) -> models.Role: ...
    @property
    def is_active(self) -> bool: ...


@strawberry.type(name="Area")
class AreaType:
    id: strawberry.ID
    name: str
    kind: str | None
    postcode_prefixes: list[str]
    _parent_id: strawberry.Private[uuid.UUID | None]
    # Set by a list resolver whose page holds the parent (Query.areas): no loader call.
    _parent: strawberry.Private[AreaType | None] = None

    @classmethod
    def of(cls, area: AreaFields) -> AreaType:
        return cls(
            id=strawberry.ID(str(area.id)),
            name=area.name,
            kind=area.kind,
            postcode_prefixes=list(area.postcode_prefixes or []),
            _parent_id=area.parent_id,
        )

    @strawberry.field(graphql_type=Optional["AreaType"])
    def parent(self, info: Info) -> AreaType | Awaitable[AreaType | None] | None:
        """Synchronous when there is none or it is at hand: graphql-core awaits nothing."""
        if self._parent_id is None or self._parent is not None:
            return self._parent
        return self._load_parent(info, self._parent_id)

    @staticmethod
    async def _load_parent(info: Info, parent_id: uuid.UUID) -> AreaType | None:
        parent = await info.context.loaders(AccountsLoaders).area.load(parent_id)
        return AreaType.of(parent) if parent else None


@strawberry.type(name="NotificationPreferences")
class NotificationPreferencesType:
    push_enabled: bool
    email_enabled: bool
    sms_enabled: bool
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    timezone: str
    digest: DigestFrequency

    @classmethod
    def of(cls, prefs: NotificationPreference | sa.Row[Any]) -> NotificationPreferencesType:
        return cls(
            push_enabled=prefs.push_enabled,
            email_enabled=prefs.email_enabled,
            sms_enabled=prefs.sms_enabled,
            quiet_hours_start=prefs.quiet_hours_start,
            quiet_hours_end=prefs.quiet_hours_end,
            timezone=prefs.timezone,
            digest=prefs.digest,
        )


@strawberry.type(name="User")
class UserType:
    """A member of the organisation."""

    id: strawberry.ID
    display_name: str
    email: str
    locale: str
    role: Role
    active: bool = strawberry.field(
        description="False once deactivated: no sign-in, no sessions, no pushes."
    )
    _user_id: strawberry.Private[uuid.UUID]
    _organisation_id: strawberry.Private[uuid.UUID]
    # Preloaded by a list resolver that had them (Query.members): no loader call per member.
    _areas: strawberry.Private[list[AreaType] | None] = None

    @classmethod
    def of(cls, user: UserFields, areas: list[AreaType] | None = None) -> UserType:
        return cls(
            id=strawberry.ID(str(user.id)),
            display_name=user.display_name,
            email=user.email,
            locale=user.locale,
            role=user.role,
            active=user.is_active,
            _user_id=user.id,
            _organisation_id=user.organisation_id,
            _areas=areas,
        )

    @classmethod
    def of_columns(cls, row: Any, prefix: str) -> UserType | None:
        """The user whose USER_COLUMNS a row carries under ``prefix`` (a join); None when
        the join found no one."""
        if getattr(row, f"{prefix}id") is None:
            return None
        return cls.of(
            SimpleNamespace(**{c.key: getattr(row, prefix + c.key) for c in USER_COLUMNS})
        )

    @strawberry.field
    async def organisation(self, info: Info) -> OrganisationType:
        org = await info.context.loaders(AccountsLoaders).organisation.load(self._organisation_id)
        assert org is not None
        return org

    @strawberry.field(graphql_type=list[AreaType])
    def areas(self, info: Info) -> list[AreaType] | Awaitable[list[AreaType]]:
        """Synchronous when preloaded: graphql-core then awaits nothing per member."""
        if self._areas is not None:
            return self._areas
        return self._load_areas(info)

    async def _load_areas(self, info: Info) -> list[AreaType]:
        loader = info.context.loaders(AccountsLoaders).areas_of_user
        return [AreaType.of(a) for a in await loader.load(self._user_id)]

    @strawberry.field
    async def notification_preferences(self, info: Info) -> NotificationPreferencesType | None:
        """Only the person themself sees their preferences."""
        actor = info.context.actor
        if actor is None or actor.user_id != self._user_id:
            return None
        return NotificationPreferencesType.of(
            await info.context.loaders(NotificationsLoaders).preferences.load(self._user_id)
        )


@strawberry.type(name="Device")
class DeviceType:
    id: strawberry.ID
    platform: Platform
    provider: PushProvider
    locale: str | None

    @classmethod
    def of(cls, device: models.Device) -> DeviceType:
        return cls(
            id=strawberry.ID(str(device.id)),
            platform=device.platform,
            provider=device.provider,
            locale=device.locale,
        )


@strawberry.type(name="Session")
class SessionType:
    access_token: str
    refresh_token: str
    access_token_expires_at: datetime

    @classmethod
    def of(cls, issued: IssuedSession) -> SessionType:
        return cls(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            access_token_expires_at=issued.access_token_expires_at,
        )
