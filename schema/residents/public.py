"""What a public caller (a resident, by token) may ask before answering: rate limited per
client address and per token (server/residents/public_limits.py)."""

from __future__ import annotations

from schema.context import Context
from server.core.errors import AccessDenied, UserError, UserErrorCode
from server.residents import public_limits

MESSAGE = "Too many requests. Wait a minute and try again."


async def allowed(ctx: Context, token: str) -> bool:
    return await public_limits.allow(ctx.services, ctx.client_address, token)


async def require_allowed(ctx: Context, token: str) -> None:
    """For a query: a GraphQL error with extensions.code RATE_LIMITED when over the limit."""
    if not await allowed(ctx, token):
        raise AccessDenied("RATE_LIMITED", MESSAGE)


def rate_limited() -> UserError:
    """For a mutation: the RATE_LIMITED userError."""
    return UserError.of(UserErrorCode.RATE_LIMITED, MESSAGE)
