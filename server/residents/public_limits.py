"""Rate limits of residents' public endpoints (the Invitation query, RespondToCampaign, the
manage-token operations and the pages): per client address and per token, in Redis, so a
token cannot be guessed at speed nor one link hammered from many addresses."""

from __future__ import annotations

from server.core.services import Services
from server.residents.tokens import hash_token


async def allow(services: Services, address: str, token: str) -> bool:
    """Count one request; False when the address or the token is over its limit. The key
    holds the token's hash, never the token."""
    settings = services.settings
    return await services.public_limiter.take(
        {
            f"address:{address}": settings.public_requests_per_address,
            f"token:{hash_token(token)[:32]}": settings.public_requests_per_token,
        }
    )
