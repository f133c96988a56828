"""Bearer tokens of residents (invitation and manage tokens): 256 random bits, shown once,
stored only as their SHA-256 (a hash of that much randomness needs no salt or stretching)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32
# base64url of 32 bytes is 43 characters; anything far longer is not one of ours.
MAX_TOKEN_LENGTH = 64


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible(token: str) -> bool:
    """Cheap shape check before any lookup (an empty or huge string is never a token)."""
    return 0 < len(token) <= MAX_TOKEN_LENGTH
