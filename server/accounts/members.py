"""Members of an organisation: listing, inviting, changing, deactivating."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Area, Device, Organisation, User, UserArea
from server.accounts.sessions import issue_action_token, retire_action_tokens
from server.audit.service import audit
from server.core.enums import Role, TokenPurpose
from server.core.errors import AccessDenied, Problem, UserError, UserErrorCode, not_found
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.core.services import Services
from server.core.validation import check_email, checked, collect, required_text
from server.notifications.models import NotificationPreference
from server.security.access import MEMBER_VIEWERS, Actor
from server.security.revocation import Revoked, end_sessions

T = TypeVar("T")

CANNOT_INVITE = "This email address can't be invited. Ask the person for another address."
DEACTIVATED_MEMBER = "This member is deactivated. Reactivate them instead of inviting them."
LAST_ADMIN = "The organisation needs at least one active admin. Make someone else an admin first."
DEACTIVATED_DEVICE = "member deactivated"


@dataclass(frozen=True)
class Invitation:
    email: str
    display_name: str
    role: Role
    area_ids: list[uuid.UUID]


def can_invite(actor: Actor, role: Role) -> bool:
    if actor.role is Role.ADMIN:
        return True
    return actor.role is Role.SENIOR_ORGANISER and role is Role.ORGANISER


@dataclass(frozen=True)
class MemberChanges:
    """What UpdateMember changes: None leaves a field as it is; area_ids replaces them."""

    display_name: str | None = None
    role: Role | None = None
    area_ids: list[uuid.UUID] | None = None


# What the API shows of a member: reads select these, as plain rows (no tracked objects).
USER_COLUMNS: tuple[Any, ...] = (
    col(User.id),
    col(User.organisation_id),
    col(User.display_name),
    col(User.email),
    col(User.locale),
    col(User.role),
    col(User.is_active),
)


# A member's preferences as the API shows them (no row: the defaults).
PREFERENCE_COLUMNS: tuple[Any, ...] = (
    col(NotificationPreference.push_enabled),
    col(NotificationPreference.email_enabled),
    col(NotificationPreference.sms_enabled),
    col(NotificationPreference.quiet_hours_start),
    col(NotificationPreference.quiet_hours_end),
    col(NotificationPreference.timezone),
    col(NotificationPreference.digest),
)


# Built once: a statement object is coerced and keyed for SQLAlchemy's compiled cache when
# first executed, and each request only binds its parameters (docs/decisions/0009).
_SIGNED_IN_MEMBER = (
    sa.select(
        *USER_COLUMNS,
        col(Organisation.name).label("organisation_name"),
        col(NotificationPreference.id).label("preferences_id"),
        *PREFERENCE_COLUMNS,
    )
    .join(Organisation, col(Organisation.id) == User.organisation_id)
    .outerjoin(NotificationPreference, col(NotificationPreference.user_id) == User.id)
    .where(
        col(User.id) == sa.bindparam("user_id"),
        col(User.organisation_id) == sa.bindparam("organisation_id"),
    )
)


async def signed_in_member(session: AsyncSession, actor: Actor) -> sa.Row[*tuple[Any, ...]] | None:
    """The actor's own row (USER_COLUMNS), with their organisation's name
    (``organisation_name``) and their preferences (``preferences_id`` None when they have
    none) joined in: what `me` shows, in one statement."""
    params = {"user_id": actor.user_id, "organisation_id": actor.organisation_id}
    return (await session.execute(_SIGNED_IN_MEMBER, params)).one_or_none()


async def list_members(
    session: AsyncSession,
    actor: Actor,
    page: PageRequest,
    role: Role | None = None,
    active: bool | None = True,
) -> Page[sa.Row[Any]]:
    """Members of the actor's organisation (rows of USER_COLUMNS); active ones unless
    ``active`` says otherwise (None: everyone)."""
    actor.require(*MEMBER_VIEWERS)
    stmt = sa.select(*USER_COLUMNS).where(col(User.organisation_id) == actor.organisation_id)
    if role is not None:
        stmt = stmt.where(col(User.role) == role)
    if active is not None:
        stmt = stmt.where(col(User.is_active).is_(active))
    return await paginate(session, stmt, [col(User.display_name), col(User.id)], page)


async def get_member(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User | None:
    user = await session.get(User, user_id)
    return user if user and user.organisation_id == actor.organisation_id else None


async def _area_problems(
    session: AsyncSession, actor: Actor, area_ids: list[uuid.UUID]
) -> list[Problem]:
    if not area_ids:
        return []
    found = set(
        (
            await session.scalars(
                sa.select(col(Area.id)).where(
                    col(Area.organisation_id) == actor.organisation_id,
                    col(Area.id).in_(area_ids),
                )
            )
        ).all()
    )
    return [
        Problem(UserErrorCode.NOT_FOUND, "No such area.", f"input.areaIds.{i}")
        for i, area_id in enumerate(area_ids)
        if area_id not in found
    ]


async def invite_member(
    session: AsyncSession, services: Services, actor: Actor, data: Invitation
) -> User:
    """Create the account (or re-invite one that never set a password) and stage the email."""
    if not actor.has(Role.ADMIN, Role.SENIOR_ORGANISER):
        raise AccessDenied("FORBIDDEN")
    if not can_invite(actor, data.role):
        raise UserError.of(UserErrorCode.FORBIDDEN, "You may invite organisers only.", "input.role")
    problems: list[Problem] = []
    email = checked(lambda: check_email(data.email, "input.email"), problems)
    display_name = checked(
        lambda: required_text(data.display_name, "input.displayName", "a name"), problems
    )
    # Field paths name positions in what the caller sent, so check before dropping repeats.
    problems += await _area_problems(session, actor, data.area_ids)
    area_ids = list(dict.fromkeys(data.area_ids))
    collect(*problems)
    assert email is not None and display_name is not None
    user = await session.scalar(sa.select(User).where(col(User.email) == email))
    if user is not None and user.organisation_id != actor.organisation_id:
        raise UserError.of(UserErrorCode.INVALID, CANNOT_INVITE, "input.email")
    if user is not None and not user.is_active:
        raise UserError.of(UserErrorCode.INVALID, DEACTIVATED_MEMBER, "input.email")
    if user is not None and user.password_hash is not None:
        raise UserError.of(
            UserErrorCode.ALREADY_DONE, "This person is already a member.", "input.email"
        )
    if user is not None and not can_invite(actor, user.role):
        # Inviting again rewrites the role and areas: only of people the caller may invite.
        raise UserError.of(
            UserErrorCode.FORBIDDEN, "You may not change this person's invitation.", "input.email"
        )
    if user is None:
        user = User(
            organisation_id=actor.organisation_id,
            email=email,
            display_name=display_name,
            role=data.role,
        )
        session.add(user)
        await session.flush()
    else:
        user.display_name, user.role = display_name, data.role
        await session.execute(sa.delete(UserArea).where(col(UserArea.user_id) == user.id))
    session.add_all(UserArea(user_id=user.id, area_id=a) for a in area_ids)
    await issue_action_token(session, services, user, TokenPurpose.INVITATION)
    audit(session, actor, "member.invite", user, {"role": data.role.value})
    await session.commit()
    return user


async def _lock_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> None:
    """Take the organisation's lock for the rest of the transaction, so changes to its
    admins happen one at a time (two admins demoting each other at once cannot both win).

    PostgreSQL locks the organisation's row. SQLite has one writer at a time: writing
    first takes its lock before anything is read.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            sa.select(col(Organisation.id))
            .where(col(Organisation.id) == organisation_id)
            .with_for_update()
        )
    else:
        await session.execute(
            sa.update(Organisation)
            .where(col(Organisation.id) == organisation_id)
            .values(updated_at=col(Organisation.updated_at))
        )


async def _admin_change(
    session: AsyncSession, actor: Actor, member_id: uuid.UUID
) -> tuple[User, set[uuid.UUID]]:
    """The member to change, and the organisation's active admins, under the lock.

    The caller must still be one of those admins: a token minted before they were demoted
    a moment ago does not count.
    """
    actor.require(Role.ADMIN)
    await _lock_organisation(session, actor.organisation_id)
    admins = set(
        (
            await session.scalars(
                sa.select(col(User.id)).where(
                    col(User.organisation_id) == actor.organisation_id,
                    col(User.role) == Role.ADMIN,
                    col(User.is_active).is_(True),
                )
            )
        ).all()
    )
    if actor.user_id not in admins:
        raise AccessDenied("FORBIDDEN")
    member = await session.get(User, member_id, populate_existing=True)
    if member is None or member.organisation_id != actor.organisation_id:
        raise not_found("member")
    return member, admins


def _keeps_an_admin(admins: set[uuid.UUID], member: User, field: str | None) -> None:
    if admins - {member.id}:
        return
    raise UserError.of(UserErrorCode.INVALID, LAST_ADMIN, field)


async def update_member(
    session: AsyncSession,
    services: Services,
    actor: Actor,
    member_id: uuid.UUID,
    changes: MemberChanges,
) -> User:
    """Change a member's name, role or areas (admins only). A new role ends the member's
    sessions at once: they sign in again and get tokens that carry it."""
    member, admins = await _admin_change(session, actor, member_id)
    problems: list[Problem] = []
    display_name = (
        checked(
            lambda: required_text(changes.display_name, "input.displayName", "a name"),
            problems,
        )
        if changes.display_name is not None
        else None
    )
    if changes.area_ids is not None:
        problems += await _area_problems(session, actor, changes.area_ids)
    collect(*problems)
    role_changes = changes.role is not None and changes.role is not member.role
    if role_changes and member.role is Role.ADMIN and member.is_active:
        _keeps_an_admin(admins, member, "input.role")
    changed: list[str] = []
    revoked = Revoked()
    if display_name is not None and display_name != member.display_name:
        member.display_name = display_name
        changed.append("displayName")
    if role_changes and changes.role is not None:
        member.role = changes.role
        changed.append("role")
        revoked = await end_sessions(session, member)
    if changes.area_ids is not None:
        await session.execute(sa.delete(UserArea).where(col(UserArea.user_id) == member.id))
        session.add_all(
            UserArea(user_id=member.id, area_id=a) for a in dict.fromkeys(changes.area_ids)
        )
        changed.append("areaIds")
    if changed:
        audit(
            session, actor, "member.update", member, {"changed": changed, "role": member.role.value}
        )
    await session.commit()
    await services.revocations.publish(revoked)
    return member


async def set_member_active(
    session: AsyncSession, services: Services, actor: Actor, member_id: uuid.UUID, active: bool
) -> User:
    """Deactivate or reactivate a member (admins only).

    Deactivating ends every session of the member at once (refresh and access tokens, on
    every server), retires their unused invitation or reset links and disables their
    devices; their records stay. Reactivating lets them sign in with their password
    again and turns back on the devices that deactivation turned off. Asking for the
    state the member is already in changes nothing.
    """
    member, admins = await _admin_change(session, actor, member_id)
    if member.is_active is active:
        return member
    revoked = Revoked()
    now = utcnow()
    if not active:
        if member.role is Role.ADMIN:
            _keeps_an_admin(admins, member, "active")
        member.is_active = False
        revoked = await end_sessions(session, member)
        await retire_action_tokens(session, member.id)
        await session.execute(
            sa.update(Device)
            .where(col(Device.user_id) == member.id, col(Device.disabled_at).is_(None))
            .values(disabled_at=now, disabled_reason=DEACTIVATED_DEVICE)
        )
    else:
        member.is_active = True
        await session.execute(
            sa.update(Device)
            .where(
                col(Device.user_id) == member.id,
                col(Device.disabled_reason) == DEACTIVATED_DEVICE,
            )
            .values(disabled_at=None, disabled_reason=None)
        )
    audit(session, actor, "member.reactivate" if active else "member.deactivate", member)
    await session.commit()
    await services.revocations.publish(revoked)
    return member
