"""Members of an organisation: listing and inviting."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Area, User, UserArea
from server.accounts.sessions import issue_action_token
from server.audit.service import record
from server.enums import Role, TokenPurpose
from server.errors import AccessDenied, Problem, UserError, UserErrorCode
from server.pagination import Page, PageRequest, paginate
from server.security.access import MEMBER_VIEWERS, Actor
from server.services import Services
from server.validation import check_email, checked, collect, required_text

T = TypeVar("T")

CANNOT_INVITE = "This email address can't be invited. Ask the person for another address."


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


async def list_members(
    session: AsyncSession, actor: Actor, page: PageRequest, role: Role | None = None
) -> Page[User]:
    actor.require(*MEMBER_VIEWERS)
    stmt = sa.select(User).where(col(User.organisation_id) == actor.organisation_id)
    if role is not None:
        stmt = stmt.where(col(User.role) == role)
    return await paginate(session, stmt, [User.display_name, User.id], page)


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
    issue_action_token(session, services, user, TokenPurpose.INVITATION)
    record(
        session,
        organisation_id=actor.organisation_id,
        actor_id=actor.user_id,
        action="member.invite",
        entity_type="User",
        entity_id=user.id,
        details={"role": data.role.value},
    )
    await session.commit()
    return user
