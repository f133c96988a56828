"""Signing in and out: logins, rotating refresh tokens, password set and reset."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.emails import ACCOUNT_EMAIL
from server.accounts.models import ActionToken, RefreshToken, User
from server.audit.service import audit
from server.core.enums import TokenPurpose
from server.core.errors import UserError, UserErrorCode
from server.core.models import utcnow
from server.core.services import Services
from server.core.validation import normalise_email
from server.outbox.service import stage
from server.security.passwords import password_problem
from server.security.revocation import end_family, end_sessions
from server.security.tokens import AccessClaims, hash_token, new_opaque_token

WRONG_LOGIN = "That email and password do not match an account."
SESSION_ENDED = "This session has ended. Sign in again."
LINK_EXPIRED = "This link has expired or was already used. Ask for a new one."


@dataclass(frozen=True)
class IssuedSession:
    user: User
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str


async def _issue(
    session: AsyncSession, services: Services, user: User, family_id: uuid.UUID | None = None
) -> IssuedSession:
    raw = new_opaque_token()
    family_id = family_id or uuid.uuid4()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_token(raw),
            expires_at=utcnow() + timedelta(days=services.settings.refresh_token_days),
        )
    )
    access, expires_at = services.access_tokens.issue(
        AccessClaims(user.id, user.organisation_id, user.role, family_id)
    )
    return IssuedSession(user, access, expires_at, raw)


def _account_key(email: str) -> str:
    """The login limiter's key for an account: failures count per normalised email."""
    return f"account:{normalise_email(email)}"


async def login(
    session: AsyncSession, services: Services, email: str, password: str, address: str
) -> IssuedSession:
    email = normalise_email(email)
    settings = services.settings
    account_key = _account_key(email)
    address_key = f"address:{address}"
    limits = {
        account_key: settings.login_attempts_per_account,
        address_key: settings.login_attempts_per_address,
    }
    # Counted before the password is checked, in one step with the check of the limits:
    # concurrent guesses cannot all slip in before the first is counted. A success
    # clears the account's failures and gives its address the attempt back.
    if not await services.login_limiter.take(limits):
        raise UserError.of(
            UserErrorCode.RATE_LIMITED, "Too many attempts. Wait a few minutes and try again."
        )
    user = await session.scalar(sa.select(User).where(col(User.email) == email))
    usable = user is not None and user.is_active
    ok = await services.passwords.verify(user.password_hash if usable and user else None, password)
    if not ok or user is None or not usable:
        raise UserError.of(UserErrorCode.INVALID, WRONG_LOGIN)
    await services.login_limiter.reset(account_key)
    await services.login_limiter.give_back(address_key)
    # Hold the member's row until the commit: a deactivation or role change that lands
    # meanwhile waits for this sign-in and then ends it (server.security.revocation).
    await session.refresh(user, with_for_update=True)
    if not user.is_active:
        raise UserError.of(UserErrorCode.INVALID, WRONG_LOGIN)
    if user.password_hash and services.passwords.needs_rehash(user.password_hash):
        user.password_hash = await services.passwords.hash(password)
    user.last_login_at = utcnow()
    issued = await _issue(session, services, user)
    audit(session, user, "session.login", user)
    await session.commit()
    return issued


async def refresh(session: AsyncSession, services: Services, refresh_token: str) -> IssuedSession:
    """Rotate a refresh token. Presenting a rotated one again ends its whole family."""
    now = utcnow()
    row = await session.scalar(
        sa.select(RefreshToken).where(col(RefreshToken.token_hash) == hash_token(refresh_token))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise UserError.of(UserErrorCode.EXPIRED, SESSION_ENDED, "refreshToken")
    # Locked like in login: a deactivation or role change waits, then ends this session.
    user = await session.get(User, row.user_id, with_for_update=True)
    if user is None or not user.is_active:
        raise UserError.of(UserErrorCode.EXPIRED, SESSION_ENDED, "refreshToken")
    rotated = await session.scalar(
        sa.update(RefreshToken)
        .where(
            col(RefreshToken.id) == row.id,
            col(RefreshToken.rotated_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(rotated_at=now)
        .returning(col(RefreshToken.id))
    )
    if rotated is None:
        await session.refresh(row)
        if row.revoked_at is not None:  # ended while we looked (logout, deactivation)
            raise UserError.of(UserErrorCode.EXPIRED, SESSION_ENDED, "refreshToken")
        revoked = await end_family(session, row.family_id)
        audit(session, user, "session.reuse_detected", user)
        await session.commit()
        await services.revocations.publish(revoked)
        raise UserError.of(UserErrorCode.EXPIRED, SESSION_ENDED, "refreshToken")
    issued = await _issue(session, services, user, row.family_id)
    audit(session, user, "session.refresh", user)
    await session.commit()
    return issued


async def logout(session: AsyncSession, services: Services, refresh_token: str) -> None:
    """End the sign-in the refresh token belongs to, with its access tokens, everywhere."""
    row = await session.scalar(
        sa.select(RefreshToken).where(col(RefreshToken.token_hash) == hash_token(refresh_token))
    )
    if row is None:
        return
    revoked = await end_family(session, row.family_id)
    user = await session.get(User, row.user_id)
    if user is not None:
        audit(session, user, "session.logout", user)
    await session.commit()
    await services.revocations.publish(revoked)


def password_link(services: Services, token: str) -> str:
    return f"{services.settings.public_url.rstrip('/')}/set-password?token={token}"


async def retire_action_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every unused invitation and reset link of the account stops working."""
    await session.execute(
        sa.update(ActionToken)
        .where(col(ActionToken.user_id) == user_id, col(ActionToken.used_at).is_(None))
        .values(used_at=utcnow())
    )


async def issue_action_token(
    session: AsyncSession, services: Services, user: User, purpose: TokenPurpose
) -> str:
    """Create a single-use token and stage the email that carries its link.

    Only the newest link of an account works: issuing one retires every older unused
    one, invitation or reset alike.
    """
    await retire_action_tokens(session, user.id)
    settings = services.settings
    lifetime = (
        timedelta(days=settings.invitation_token_days)
        if purpose is TokenPurpose.INVITATION
        else timedelta(hours=settings.password_token_hours)
    )
    raw = new_opaque_token()
    token = ActionToken(
        user_id=user.id,
        purpose=purpose,
        token_hash=hash_token(raw),
        expires_at=utcnow() + lifetime,
    )
    session.add(token)
    stage(
        session,
        ACCOUNT_EMAIL,
        {
            "template": purpose.value.lower(),
            "user_id": str(user.id),
            "to": user.email,
            "link": password_link(services, raw),
            "expires_at": token.expires_at.isoformat(),
        },
        dedupe_key=f"action-token:{token.id}",
    )
    return raw


async def request_password_reset(
    session: AsyncSession, services: Services, email: str, address: str
) -> None:
    """Stage a reset email when the address has an active account; silent otherwise."""
    email = normalise_email(email)
    settings = services.settings
    limits = {
        f"email:{email}": settings.password_resets_per_hour,
        f"address:{address}": settings.password_resets_per_address_per_hour,
    }
    if not await services.reset_limiter.take(limits):
        return  # a flood of reset emails, to one inbox or from one client, stops here silently
    user = await session.scalar(sa.select(User).where(col(User.email) == email))
    if user is None or not user.is_active:
        return
    await issue_action_token(session, services, user, TokenPurpose.PASSWORD_RESET)
    audit(session, user, "password.reset_requested", user)
    await session.commit()


async def set_password(
    session: AsyncSession, services: Services, token: str, password: str
) -> IssuedSession:
    now = utcnow()
    row = await session.scalar(
        sa.select(ActionToken).where(col(ActionToken.token_hash) == hash_token(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise UserError.of(UserErrorCode.EXPIRED, LINK_EXPIRED, "input.token")
    problem = password_problem(password)
    if problem:
        raise UserError.of(UserErrorCode.INVALID, problem, "input.password")
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise UserError.of(UserErrorCode.EXPIRED, LINK_EXPIRED, "input.token")
    used = await session.scalar(
        sa.update(ActionToken)
        .where(col(ActionToken.id) == row.id, col(ActionToken.used_at).is_(None))
        .values(used_at=now)
        .returning(col(ActionToken.id))
    )
    if used is None:
        raise UserError.of(UserErrorCode.EXPIRED, LINK_EXPIRED, "input.token")
    user.password_hash = await services.passwords.hash(password)
    # A new password ends every other session of the account, access tokens included.
    revoked = await end_sessions(session, user)
    issued = await _issue(session, services, user)
    audit(session, user, "password.set", user)
    await session.commit()
    await services.revocations.publish(revoked)
    # Whoever followed the emailed link owns the account: lift a lockout left by failed
    # logins, or they could not sign in elsewhere with their new password for a while.
    await services.login_limiter.reset(_account_key(user.email))
    return issued
