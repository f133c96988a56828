"""Connections: edges, pageInfo and a totalCount that is counted only when asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types.nodes import SelectedField, Selection

from schema.context import Context, Info
from server.core.pagination import Page, PageRequest

T = TypeVar("T")
M = TypeVar("M")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match, over all pages.")
    async def total_count(self) -> int:
        return await self._count()


def selects(info: Info, *path: str) -> bool:
    """Whether the field's selection asks for ``path`` (GraphQL names, fragments followed;
    @skip and @include count as asking): a list resolver preloads what its rows need."""
    level: list[Selection] = [
        child
        for field in info.selected_fields
        if isinstance(field, SelectedField)
        for child in field.selections
    ]
    for name in path:
        found: list[Selection] = []
        while level:
            selection = level.pop()
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    found.extend(selection.selections)
                    if name == path[-1]:
                        return True
            else:  # a fragment: its selections stand at this level
                level.extend(selection.selections)
        level = found
    return False


def page_request(
    ctx: Context, first: int | None, after: str | None, limit: int | None = None, default: int = 50
) -> PageRequest:
    """Refuse page sizes outside 0..limit (the configured maximum, 100 by default)."""
    limit = limit or ctx.services.settings.max_page_size
    first = default if first is None else first
    if not 0 <= first <= limit:
        raise GraphQLError(
            f"first must be between 0 and {limit}.", extensions={"code": "BAD_USER_INPUT"}
        )
    return PageRequest(first=first, after=after)


def connection(ctx: Context, page: Page[M], convert: Callable[[M], T]) -> Connection[T]:
    async def count() -> int:
        async with ctx.db():
            return await page.count()

    return Connection(
        edges=[
            Edge(cursor=c, node=convert(item))
            for c, item in zip(page.cursors, page.items, strict=True)
        ],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        _count=count,
    )
