"""What every resident page shares: its templates, its headers, the rate limit and the
pages for a link that does not work."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from server.core.services import Services
from server.residents import public_limits
from server.residents.csrf import PageCsrf
from server.residents.texts import PAGE_TEXTS

HERE = Path(__file__).parent
CSS = (HERE / "static" / "residents.css").read_bytes()
CSS_PATH = "/residents/static/residents.css"
RETRY_AFTER_SECONDS = 60  # the public limits count per minute

templates = Jinja2Templates(directory=HERE / "page_templates")
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def _day(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def _as_options(values: Iterable[str]) -> list[tuple[str, str]]:
    """(value, label) pairs of options whose label is their value."""
    return [(value, value) for value in values]


templates.env.filters["day"] = _day
templates.env.filters["as_options"] = _as_options

# Tokens are in the URLs: never sent on as a referrer, never cached. Nothing is loaded from
# anywhere but this server, and nothing runs: no script source at all.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    csrf: PageCsrf | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    full = {"t": PAGE_TEXTS, "css": CSS_PATH, **(context or {})}
    if csrf is not None:
        full["csrf"] = csrf.field
    response = templates.TemplateResponse(
        request, name, full, status_code=status, headers={**HEADERS, **(headers or {})}
    )
    if csrf is not None:
        csrf.set_cookie(response)
    return response


def expired(request: Request) -> Response:
    """The same page for an unknown token and an expired one."""
    return page(request, "expired.html", status=404)


def refused(request: Request) -> Response:
    return page(request, "refused.html", status=403)


async def over_limit(request: Request, token: str) -> Response | None:
    """The 429 page when this address or this token is over its limit; None otherwise."""
    address = request.client.host if request.client else "unknown"
    if await public_limits.allow(services_of(request), address, token):
        return None
    return page(
        request, "limited.html", status=429, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def is_form(request: Request) -> bool:
    """Only the pages' own kind of form is read (no multipart)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/x-www-form-urlencoded"


def stylesheet(request: Request) -> Response:
    return Response(
        CSS,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
