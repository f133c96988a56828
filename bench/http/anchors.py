"""The anchors: what the same HTTP stack does with no Doorstep in it.

- ``starlette_app``: a bare Starlette endpoint returning fixed JSON;
- ``strawberry_app``: a plain Strawberry app (``strawberry.asgi.GraphQL`` on Starlette, no
  extensions) serving a list shaped like Members (id, name, email, role) from memory.

Both are uvicorn factories, started exactly as Doorstep is (see serve.py).
"""

from __future__ import annotations

from enum import Enum

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

FIXED = {"status": "ok", "service": "anchor"}
ITEMS_QUERY = "query Items($n: Int!) { items(n: $n) { id name email role } }"
MAX_ITEMS = 100


async def _fixed(request: Request) -> JSONResponse:
    return JSONResponse(FIXED)


def starlette_app() -> Starlette:
    return Starlette(routes=[Route("/", _fixed), Route("/healthz", _fixed)])


@strawberry.enum
class AnchorRole(Enum):
    ADMIN = "ADMIN"
    ORGANISER = "ORGANISER"


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    email: str
    role: AnchorRole


_ITEMS = [
    Item(
        id=strawberry.ID(f"00000000-0000-4000-8000-{i:012d}"),
        name=f"Member {i:03}",
        email=f"member{i}@anchor.test",
        role=AnchorRole.ADMIN if i % 10 == 0 else AnchorRole.ORGANISER,
    )
    for i in range(MAX_ITEMS)
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self, n: int) -> list[Item]:
        return _ITEMS[: max(0, min(n, MAX_ITEMS))]


def strawberry_app() -> Starlette:
    graphql: GraphQL[None, None] = GraphQL(strawberry.Schema(query=Query))
    return Starlette(routes=[Route("/graphql", graphql), Route("/healthz", _fixed)])
