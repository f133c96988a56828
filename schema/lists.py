"""Caps on list arguments: a list over its stated maximum is refused, never cut short.

Each list argument states its maximum in its description. Over it, a mutation answers
with a userError (INVALID) on the argument; anywhere else the UserError becomes a GraphQL
error with the BAD_USER_INPUT code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from server.core.errors import UserError, UserErrorCode

T = TypeVar("T")

MAX_IDS = 100
MAX_POSTCODE_PREFIXES = 100


def capped(values: Sequence[T] | None, limit: int, field: str, what: str) -> list[T]:
    """The list, unless it holds more than ``limit`` items."""
    items = list(values or ())
    if len(items) > limit:
        raise UserError.of(
            UserErrorCode.INVALID,
            f"Send at most {limit} {what} at a time; this list has {len(items)}.",
            field,
        )
    return items
