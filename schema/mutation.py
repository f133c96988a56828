"""Running a domain function for a mutation: its result, or the userErrors it raised."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Context
from schema.errors import UserError, user_errors
from server.errors import UserError as DomainUserError

T = TypeVar("T")


async def attempt(
    ctx: Context, work: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run ``work`` in the request's session; a UserError rolls back and becomes userErrors."""
    try:
        async with ctx.db() as session:
            return await work(session), []
    except DomainUserError as error:
        return None, user_errors(error)
