"""Twilio status callbacks: verify X-Twilio-Signature, then move the SMS delivery forward
(the moves themselves are server/notifications/deliveries.confirm's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from server.core.models import utcnow
from server.notifications import deliveries
from server.notifications.models import ChannelName, DeliveryStatus

Params = Mapping[str, str] | Iterable[tuple[str, str]]

# Twilio's MessageStatus values and where each takes a delivery.
TARGETS = {
    "accepted": DeliveryStatus.SENT,
    "scheduled": DeliveryStatus.SENT,
    "queued": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def compute_signature(auth_token: str, url: str, params: Params) -> str:
    """HMAC-SHA1 of the URL followed by each parameter's name and value, sorted by name."""
    pairs = params.items() if isinstance(params, Mapping) else params
    grouped: dict[str, set[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> set[str]:
    """The URL as given, without its port and with the scheme's default port (Twilio signs
    whichever form it was configured with)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme)
    variants = {url, urlunsplit(parts._replace(netloc=host))}
    if parts.port is None and default is not None:
        variants.add(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    return variants


def valid_signature(auth_token: str, url: str, params: Params, signature: str) -> bool:
    if not auth_token or not signature:
        return False
    pairs = list(params.items() if isinstance(params, Mapping) else params)
    given = signature.strip().encode()
    matched = False
    for candidate in _url_variants(url):
        expected = compute_signature(auth_token, candidate, pairs).encode()
        matched |= hmac.compare_digest(expected, given)
    return matched


def _error_text(form: Mapping[str, str], status: str) -> str:
    code = form.get("ErrorCode") or "none"
    text = f"Twilio {status}: ErrorCode {code}"
    if form.get("ErrorMessage"):
        text += f" ({form['ErrorMessage']})"
    return text[:1000]


async def apply_status_callback(session: AsyncSession, form: Mapping[str, str]) -> bool:
    """Apply one status callback and commit; True if the delivery changed state."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    target = TARGETS.get(status)
    if not sid or target is None:
        return False
    error = _error_text(form, status) if target is DeliveryStatus.FAILED else None
    return await deliveries.confirm(session, ChannelName.SMS, sid, target, utcnow(), error)


def request_public_url(request: Request, public_url: str) -> str:
    """The URL Twilio called, as configured (public_url), whatever proxies sit in between."""
    url = public_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def twilio_status(request: Request) -> Response:
    services = request.app.state.services
    settings = services.settings
    async with request.form() as form:
        params = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    signature = request.headers.get("X-Twilio-Signature", "")
    url = request_public_url(request, settings.public_url)
    if not valid_signature(settings.twilio_auth_token or "", url, params, signature):
        return Response(status_code=403)
    async with services.db.session() as session:
        await apply_status_callback(session, dict(params))
    return Response(status_code=204)
