"""CSRF protection of the resident pages' forms: a double-submit token bound to the page.

A GET sets a random cookie (HttpOnly, SameSite=Strict; ``__Host-`` and Secure when the
service is public over https) and puts in the form an HMAC of that cookie and the page's
path, keyed with the secret key. A POST counts only when its hidden field is the HMAC of
the cookie it came with, for that same page: another site can neither read the cookie nor
make the field, and a field made for one page is no good on another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from server.core.settings import Settings

FIELD = "csrf"
PLAIN_COOKIE = "doorstep_csrf"
HOST_COOKIE = "__Host-doorstep_csrf"
NONCE_BYTES = 32
MAX_NONCE = 64


def _secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    return HOST_COOKIE if _secure(settings) else PLAIN_COOKIE


def _sign(settings: Settings, nonce: str, scope: str) -> str:
    message = f"resident-page-csrf|{scope}|{nonce}".encode()
    return hmac.new(settings.signing_key().encode(), message, hashlib.sha256).hexdigest()


class PageCsrf:
    """The token of one page view: the cookie to (re)set and the hidden field's value."""

    def __init__(self, request: Request, settings: Settings, scope: str) -> None:
        self._settings = settings
        sent = request.cookies.get(cookie_name(settings), "")
        self.nonce = sent if 0 < len(sent) <= MAX_NONCE else secrets.token_urlsafe(NONCE_BYTES)
        self.field = _sign(settings, self.nonce, scope)

    def set_cookie(self, response: Response) -> None:
        response.set_cookie(
            cookie_name(self._settings),
            self.nonce,
            path="/",
            httponly=True,
            samesite="strict",
            secure=_secure(self._settings),
        )


def valid(request: Request, settings: Settings, scope: str, submitted: object) -> bool:
    """Whether a POST's hidden field matches its cookie for this page."""
    nonce = request.cookies.get(cookie_name(settings), "")
    if not nonce or len(nonce) > MAX_NONCE or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(_sign(settings, nonce, scope), submitted)
