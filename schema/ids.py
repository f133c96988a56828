"""IDs are UUID strings; a malformed one is simply an object that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from schema.lists import MAX_IDS, capped
from server.core.errors import UserError, UserErrorCode


def parse_id(value: str, field: str, what: str = "object") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UserError.of(UserErrorCode.NOT_FOUND, f"No such {what}.", field) from None


def parse_ids(
    values: Sequence[str] | None, field: str, what: str = "object", limit: int = MAX_IDS
) -> list[uuid.UUID]:
    """Parse a list of IDs of at most ``limit`` (100 unless the argument states another)."""
    items = capped(values, limit, field, f"{what} ids")
    return [parse_id(v, f"{field}.{i}", what) for i, v in enumerate(items)]
