"""Tables of the accounts domain."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.core.enums import Platform, PushProvider, Role, TokenPurpose, enum_column
from server.core.models import Table


class Organisation(Table, table=True):
    """A host organisation; every other object belongs to exactly one."""

    __tablename__ = "organisations"

    name: str = Field(max_length=200, unique=True)


class Area(Table, table=True):
    """A place the organisation works in; areas nest (ward > estate > street)."""

    __tablename__ = "areas"

    __table_args__ = (sa.UniqueConstraint("organisation_id", "parent_id", "name"),)

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="areas.id", index=True)
    name: str = Field(max_length=200)
    kind: str | None = Field(default=None, max_length=50)
    postcode_prefixes: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class User(Table, table=True):
    """A person with an account: their one organisation membership and role live here."""

    __tablename__ = "users"

    organisation_id: uuid.UUID = Field(foreign_key="organisations.id", index=True)
    email: str = Field(max_length=320, unique=True)
    display_name: str = Field(max_length=200)
    role: Role = Field(sa_type=enum_column(Role))
    locale: str = Field(default="en-GB", max_length=35)
    password_hash: str | None = Field(default=None, max_length=200)
    is_active: bool = True
    last_login_at: datetime | None = None
    # Every access token of this user issued before this moment is refused
    # (deactivation, a role change, a new password); see server.security.revocation.
    sessions_revoked_at: datetime | None = Field(default=None, index=True)


class UserArea(SQLModel, table=True):
    """The areas a member works in."""

    __tablename__ = "user_areas"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    area_id: uuid.UUID = Field(
        foreign_key="areas.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class Device(Table, table=True):
    """A phone or browser that receives push notifications for one user."""

    __tablename__ = "devices"

    __table_args__ = (sa.UniqueConstraint("provider", "token"),)

    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    platform: Platform = Field(sa_type=enum_column(Platform))
    provider: PushProvider = Field(sa_type=enum_column(PushProvider))
    token: str = Field(max_length=4096)
    locale: str | None = Field(default=None, max_length=35)
    disabled_at: datetime | None = None
    disabled_reason: str | None = Field(default=None, max_length=200)


class RefreshToken(Table, table=True):
    """One link of a rotating refresh-token family; only the hash is kept."""

    __tablename__ = "refresh_tokens"

    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime
    rotated_at: datetime | None = None
    # Set on every row of a family when the family ends; indexed for the revocation
    # records that Redis is refilled from.
    revoked_at: datetime | None = Field(default=None, index=True)


class ActionToken(Table, table=True):
    """A single-use, expiring token sent by email (invitation or password reset)."""

    __tablename__ = "action_tokens"

    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    purpose: TokenPurpose = Field(sa_type=enum_column(TokenPurpose))
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime
    used_at: datetime | None = None
