"""What the HTTP channels share: the client, Retry-After, and status codes into Results."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from workers.channels.base import Message, Outcome, Result

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ERROR_TEXT_LIMIT = 300
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
ELLIPSIS = "…"

T = TypeVar("T")


def new_client(
    timeout: httpx.Timeout | float | None = None,
    *,
    max_connections: int = 20,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """The one client a channel keeps for its life (connection reuse), closed in aclose."""
    return httpx.AsyncClient(
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
        **kwargs,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date.

    Capped at a day: a longer wait is a provider's mistake, not a schedule.
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_SECONDS, max(0.0, seconds))


def retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))


def is_transient(status: int) -> bool:
    return status == 429 or status >= 500


def status_result(status: int) -> Result:
    """The generic meaning of an HTTP status: 2xx sent, 429/5xx retry, anything else failed."""
    if 200 <= status < 300:
        return Result.SENT
    return Result.RETRY if is_transient(status) else Result.FAILED


def status_outcome(message: Message, response: httpx.Response, error: str) -> Outcome:
    result = status_result(response.status_code)
    return Outcome(
        message.delivery_id,
        result,
        error=error,
        retry_after=retry_after(response) if result is Result.RETRY else None,
    )


def response_error(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code}: {text[:ERROR_TEXT_LIMIT]}".rstrip(": ")


def transport_error(exc: Exception) -> str:
    detail = str(exc) or type(exc).__name__
    return f"network error ({type(exc).__name__}): {detail}"[:ERROR_TEXT_LIMIT]


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON answer, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def all_outcomes(
    messages: Sequence[Message],
    result: Result,
    *,
    error: str | None = None,
    retry_after: float | None = None,
) -> list[Outcome]:
    return [Outcome(m.delivery_id, result, error=error, retry_after=retry_after) for m in messages]


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def fit_body(body: str, size_of: Callable[[str], int], limit: int) -> tuple[str, bool] | None:
    """Shorten ``body`` until ``size_of(body) <= limit``; None if even an empty body is too big.

    Returns the body and whether it was truncated.
    """
    size = size_of(body)
    if size <= limit:
        return body, False
    while body:
        excess = size - limit
        encoded = body.encode()
        keep = max(0, len(encoded) - excess - len(ELLIPSIS.encode()))
        body = encoded[:keep].decode(errors="ignore").rstrip()
        candidate = body + ELLIPSIS if body else ""
        size = size_of(candidate)
        if size <= limit:
            return candidate, True
    return None
