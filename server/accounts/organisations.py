"""Creating organisations and their first admin (the CLI and the demo seed use these)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Organisation, User
from server.audit.service import audit
from server.core.enums import Role
from server.core.errors import UserError, UserErrorCode
from server.core.services import Services
from server.core.validation import check_email, required_text
from server.security.passwords import password_problem


async def create_organisation_with_admin(
    session: AsyncSession,
    services: Services,
    *,
    organisation: str,
    email: str,
    password: str,
    display_name: str = "Administrator",
) -> User:
    name = required_text(organisation, "organisation", "the organisation's name")
    email = check_email(email, "email")
    problem = password_problem(password)
    if problem:
        raise UserError.of(UserErrorCode.INVALID, problem, "password")
    if await session.scalar(sa.select(col(Organisation.id)).where(col(Organisation.name) == name)):
        raise UserError.of(
            UserErrorCode.INVALID, "That organisation exists already.", "organisation"
        )
    if await session.scalar(sa.select(col(User.id)).where(col(User.email) == email)):
        raise UserError.of(UserErrorCode.INVALID, "That email has an account already.", "email")
    org = Organisation(name=name)
    session.add(org)
    await session.flush()
    admin = User(
        organisation_id=org.id,
        email=email,
        display_name=display_name,
        role=Role.ADMIN,
        password_hash=await services.passwords.hash(password),
    )
    session.add(admin)
    await session.flush()
    audit(session, admin, "organisation.create", org, {"name": name})
    await session.commit()
    return admin
