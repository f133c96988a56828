"""Access JWTs and opaque random tokens (kept only as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from server.enums import Role
from server.models import utcnow
from server.settings import Settings

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    role: Role


class InvalidToken(Exception):
    pass


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccessTokens:
    def __init__(self, settings: Settings) -> None:
        self._key = settings.signing_key()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetime = timedelta(minutes=settings.access_token_minutes)

    def issue(self, claims: AccessClaims, now: datetime | None = None) -> tuple[str, datetime]:
        # Whole seconds, as JWT's iat/exp: the expiry the client is told is the token's own
        # (truncating only exp made tokens expire up to a second before the advertised time).
        now = (now or utcnow()).replace(microsecond=0)
        expires_at = now + self._lifetime
        payload = {
            "sub": str(claims.user_id),
            "org": str(claims.organisation_id),
            "role": claims.role.value,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), expires_at

    def decode(self, token: str) -> AccessClaims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(payload["sub"]),
                organisation_id=uuid.UUID(payload["org"]),
                role=Role(payload["role"]),
            )
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidToken(str(exc)) from exc
