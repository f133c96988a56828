"""DateTime must carry an offset: a naive time from a phone would be silently wrong."""

from __future__ import annotations

import datetime as dt

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition


def _parse_aware(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(f'DateTime must be a string, not "{value}".')
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f'"{value}" is not an ISO 8601 date and time.') from None
    if parsed.utcoffset() is None:
        raise StrawberryInputCoercionError(
            f'"{value}" has no UTC offset; send one, such as "2026-11-22T09:30:00Z".'
        )
    return parsed


def _serialize(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


AwareDateTime = ScalarDefinition(
    name="DateTime",
    description='ISO 8601 date and time with an offset, such as "2026-11-22T09:30:00Z".',
    specified_by_url=None,
    serialize=_serialize,
    parse_value=_parse_aware,
    parse_literal=None,
    origin=dt.datetime,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {dt.datetime: AwareDateTime}
