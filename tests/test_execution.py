"""schema/execution.py: the short way through plain leaf fields answers exactly as
graphql-core's executor does, errors included."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import strawberry

from schema.execution import Executor


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


async def _later(value: object) -> object:
    await asyncio.sleep(0)
    return value


@strawberry.type
class Item:
    id: strawberry.ID
    name: str | None
    count: int
    colour: Colour
    at: datetime
    tags: list[str]
    late: str | Awaitable[str] = strawberry.field(graphql_type=str)

    @strawberry.field
    def shout(self, suffix: str = "!") -> str:
        return self.id.upper() + suffix


def _item(**changes: Any) -> Item:
    values: dict[str, Any] = {
        "id": strawberry.ID("a"),
        "name": "Ann",
        "count": 3,
        "colour": Colour.RED,
        "at": datetime(2026, 1, 2, tzinfo=UTC),
        "tags": ["x"],
        "late": "later",
    }
    values.update(changes)
    return Item(**values)


def _schemas(items: Callable[[], list[Item]]) -> list[strawberry.Schema]:
    @strawberry.type
    class Query:
        @strawberry.field
        def items(self) -> list[Item]:
            return items()

    return [
        strawberry.Schema(query=Query),
        strawberry.Schema(query=Query, execution_context_class=Executor),
    ]


QUERY = """{ items { id name n: count colour at tags late shout loud: shout(suffix: "?")
  __typename } }"""


async def _both(items: Callable[[], list[Item]], query: str = QUERY) -> list[tuple[Any, Any]]:
    answers = []
    for schema in _schemas(items):
        result = await schema.execute(query)
        errors = [(e.message, e.path) for e in result.errors or []]
        answers.append((result.data, errors))
    return answers


async def test_the_same_data_as_graphql_core() -> None:
    plain, fast = await _both(
        lambda: [_item(), _item(id=strawberry.ID("b"), name=None, late=_later("soon"))]
    )
    assert fast == plain
    assert fast[0] is not None
    assert fast[0]["items"][1] == {
        "id": "b",
        "name": None,
        "n": 3,
        "colour": "RED",
        "at": "2026-01-02T00:00:00+00:00",
        "tags": ["x"],
        "late": "soon",
        "shout": "B!",
        "loud": "B?",
        "__typename": "Item",
    }


async def test_the_same_errors_for_a_null_or_a_refused_value() -> None:
    bad: list[Callable[[], Item]] = [
        lambda: _item(count=None),
        lambda: _item(count="many"),
        lambda: _item(late=_later(None)),
    ]
    for make in bad:

        def items(make: Callable[[], Item] = make) -> list[Item]:
            return [_item(), make()]

        plain, fast = await _both(items, "{ items { id count late } }")
        assert fast == plain
        assert fast[0] is None  # the non-null list could not be completed
        assert [path for _, path in fast[1]] in (
            [["items", 1, "count"]],
            [["items", 1, "late"]],
        )
