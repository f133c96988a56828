"""Running a domain function for a mutation: its result, or the userErrors it raised."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Context
from schema.errors import UserError, user_errors
from server.core.errors import UserError as DomainUserError
from server.core.errors import UserErrorCode

T = TypeVar("T")
RACE = "Someone else made the same change at the same moment. Reload and try again."


async def attempt(
    ctx: Context, work: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run ``work`` in the request's session; a UserError rolls back and becomes userErrors.

    A unique constraint that fires means another request made the same change between our
    check and our write: the caller gets CONFLICT and can simply retry.
    """
    try:
        async with ctx.db() as session:
            return await work(session), []
    except DomainUserError as error:
        return None, user_errors(error)
    except IntegrityError:
        return None, user_errors(DomainUserError.of(UserErrorCode.CONFLICT, RACE))
