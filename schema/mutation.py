"""Running a domain function for a mutation: its result, or the userErrors it raised."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Context
from schema.errors import UserError, user_errors
from server.core.conflicts import conflict_for
from server.core.errors import UserError as DomainUserError
from server.core.errors import UserErrorCode

T = TypeVar("T")


async def attempt(
    ctx: Context, work: Callable[[AsyncSession], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run ``work`` in the request's session and commit what it left open; a UserError
    rolls back and becomes userErrors. (A domain function that commits itself, to hold
    something until its commit, leaves nothing open: then there is nothing to commit.)

    A unique constraint named in server.core.conflicts that fires means another request
    made the same change between our check and our write: the caller gets CONFLICT and can
    simply retry. Any other integrity error is a bug: it propagates, to be logged with the
    request id and masked in production.
    """
    try:
        async with ctx.db() as session:
            done = await work(session)
            if session.in_transaction():
                await session.commit()
            return done, []
    except DomainUserError as error:
        return None, user_errors(error)
    except IntegrityError as error:
        conflict = conflict_for(error)
        if conflict is None:
            raise
        problem = DomainUserError.of(UserErrorCode.CONFLICT, conflict.message, conflict.field)
        return None, user_errors(problem)
