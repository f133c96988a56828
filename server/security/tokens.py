"""Access JWTs and opaque random tokens (kept only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from server.core.enums import Role
from server.core.models import utcnow
from server.core.settings import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role
    # The refresh-token family the token belongs to: ending the family ends the token.
    session_id: uuid.UUID


@dataclass(frozen=True)
class AccessToken:
    """A verified access token: its claims and when it was issued (epoch seconds)."""

    claims: AccessClaims
    issued_at: float
    expires_at: float


class InvalidToken(Exception):
    pass


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def epoch_millis(moment: datetime) -> float:
    """Epoch seconds, rounded down to the millisecond: the precision of issue times and
    revocation cut-offs, so both compare the same way in every process."""
    return math.floor(moment.timestamp() * 1000) / 1000


class AccessTokens:
    def __init__(self, settings: Settings) -> None:
        self._key = settings.signing_key()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetime = timedelta(minutes=settings.access_token_minutes)

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    def issue(self, claims: AccessClaims, now: datetime | None = None) -> tuple[str, datetime]:
        now = now or utcnow()
        # exp in whole seconds, so the expiry the client is told is the token's own.
        # iat keeps milliseconds (RFC 7519 allows a fractional NumericDate): a cut-off
        # ("every token of this user issued before now") must not catch a token issued
        # just after it in the same second.
        expires_at = now.replace(microsecond=0) + self._lifetime
        payload = {
            "sub": str(claims.user_id),
            "org": str(claims.organisation_id),
            "role": claims.role.value,
            "sid": str(claims.session_id),
            "iss": self._issuer,
            "aud": self._audience,
            "iat": epoch_millis(now),
            "exp": int(expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), expires_at

    def decode(self, token: str) -> AccessToken:
        """Verify a token. One without a session (`sid`, from before revocation existed)
        or with a lifetime beyond the configured one is refused, however well signed."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "sid"]},
            )
            issued_at, expires_at = float(payload["iat"]), float(payload["exp"])
            if expires_at - issued_at > self._lifetime.total_seconds():
                raise InvalidToken("the token's lifetime exceeds the configured maximum")
            claims = AccessClaims(
                user_id=uuid.UUID(payload["sub"]),
                organisation_id=uuid.UUID(payload["org"]),
                role=Role(payload["role"]),
                session_id=uuid.UUID(payload["sid"]),
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc
        return AccessToken(claims, issued_at, expires_at)
