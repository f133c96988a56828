"""Enrolments: enrolling a member or a new person, withdrawing, reading.

A new person (email and name) gets an ORGANISER account and the set-password invitation
through the workers, as the accounts domain invites; an existing member is told
(ENROLLED). An email of another organisation is refused with INVALID and the same words
as the accounts domain's invitation, which reveal nothing. Enrolling someone already in
the cohort returns their enrolment and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.members import CANNOT_INVITE, DEACTIVATED_MEMBER
from server.accounts.models import User
from server.accounts.sessions import issue_action_token
from server.audit.service import audit
from server.core.enums import Role, TokenPurpose
from server.core.errors import Problem, UserError, UserErrorCode, not_found
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.core.services import Services
from server.core.validation import check_email, checked, collect, required_text
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from server.security.access import Actor
from server.training import access
from server.training.columns import ENROLMENT_COLUMNS
from server.training.enums import EnrolmentStatus
from server.training.models import Enrolment, Programme
from server.training.templates import ENROLLED

# Enrolments of a cohort: in the order they were made, then id.
ORDER = (col(Enrolment.created_at), col(Enrolment.id))

_EXISTING = sa.select(Enrolment).where(
    col(Enrolment.cohort_id) == sa.bindparam("cohort_id"),
    col(Enrolment.trainee_id) == sa.bindparam("trainee_id"),
)


@dataclass(frozen=True)
class NewEnrolment:
    cohort_id: uuid.UUID
    user_id: uuid.UUID | None = None
    email: str | None = None
    display_name: str | None = None


async def _member(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User:
    user = await session.scalar(
        sa.select(User).where(
            col(User.id) == user_id, col(User.organisation_id) == actor.organisation_id
        )
    )
    if user is None:
        raise not_found("member", "input.userId")
    if not user.is_active:
        raise UserError.of(UserErrorCode.INVALID, DEACTIVATED_MEMBER, "input.userId")
    return user


async def _by_email(
    session: AsyncSession, services: Services, actor: Actor, data: NewEnrolment
) -> tuple[User, bool]:
    """The member with that email, or a new ORGANISER account invited to set a password
    (True when new)."""
    problems: list[Problem] = []
    email = checked(lambda: check_email(data.email or "", "input.email"), problems)
    user = None
    if email is not None:
        user = await session.scalar(sa.select(User).where(col(User.email) == email))
    if user is not None:
        if user.organisation_id != actor.organisation_id:
            raise UserError.of(UserErrorCode.INVALID, CANNOT_INVITE, "input.email")
        if not user.is_active:
            raise UserError.of(UserErrorCode.INVALID, DEACTIVATED_MEMBER, "input.email")
        return user, False
    name = checked(
        lambda: required_text(data.display_name, "input.displayName", "a name"), problems
    )
    collect(*problems)
    assert email is not None and name is not None
    user = User(
        organisation_id=actor.organisation_id, email=email, display_name=name, role=Role.ORGANISER
    )
    session.add(user)
    await session.flush()
    await issue_action_token(session, services, user, TokenPurpose.INVITATION)
    audit(session, actor, "member.invite", user, {"role": Role.ORGANISER.value})
    return user, True


async def enrol_trainee(
    session: AsyncSession, services: Services, actor: Actor, data: NewEnrolment
) -> Enrolment:
    cohort = await access.cohort_to_change(session, actor, data.cohort_id, "input.cohortId")
    if data.user_id is None and not data.email:
        raise UserError.of(
            UserErrorCode.REQUIRED, "Give a member, or an email and a name.", "input.userId"
        )
    if data.user_id is not None:
        user, new = await _member(session, actor, data.user_id), False
    else:
        user, new = await _by_email(session, services, actor, data)
    params = {"cohort_id": cohort.id, "trainee_id": user.id}
    existing = (await session.scalars(_EXISTING, params)).one_or_none()
    if existing is not None:
        return existing
    enrolment = Enrolment(
        organisation_id=actor.organisation_id,
        cohort_id=cohort.id,
        trainee_id=user.id,
        enrolled_by_id=actor.user_id,
    )
    session.add(enrolment)
    await session.flush()
    if not new:
        programme = await session.get_one(Programme, cohort.programme_id)
        stage_notification(
            session,
            NotifySpec(
                organisation_id=actor.organisation_id,
                user_ids=[user.id],
                template=ENROLLED,
                event_key=f"enrolled:{enrolment.id}",
                params={
                    "cohort": cohort.name,
                    "programme": programme.name,
                    "starts_on": cohort.starts_on.isoformat(),
                },
            ),
        )
    audit(session, actor, "enrolment.create", enrolment, {"cohort_id": str(cohort.id)})
    await session.commit()
    return enrolment


async def withdraw_trainee(
    session: AsyncSession, actor: Actor, enrolment_id: uuid.UUID, reason: str | None
) -> Enrolment:
    enrolment = await access.enrolment_to_change(session, actor, enrolment_id)
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise UserError.of(UserErrorCode.ALREADY_DONE, "Already withdrawn.", "enrolmentId")
    if enrolment.status == EnrolmentStatus.COMPLETED:
        raise UserError.of(
            UserErrorCode.INVALID, "A trainee who completed is not withdrawn.", "enrolmentId"
        )
    text = (reason or "").strip()
    if len(text) > 2000:
        raise UserError.of(UserErrorCode.INVALID, "Use at most 2000 characters.", "reason")
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.status_at = utcnow()
    enrolment.status_reason = text or None
    audit(session, actor, "enrolment.withdraw", enrolment, {"reason": text or None})
    await session.commit()
    return enrolment


async def list_enrolments(
    session: AsyncSession, actor: Actor, cohort_id: uuid.UUID, page: PageRequest
) -> Page[sa.Row[Any]]:
    """The cohort's enrolments the actor sees (a trainee: their own)."""
    stmt = sa.select(*ENROLMENT_COLUMNS).where(
        col(Enrolment.cohort_id) == cohort_id, *access.enrolments_visible(actor)
    )
    return await paginate(session, stmt, ORDER, page)
