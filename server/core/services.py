"""The long-lived collaborators that the API and the workers share, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from server.core.db import Database
from server.core.redis import create_redis
from server.core.settings import Settings
from server.security.passwords import Passwords
from server.security.ratelimit import AttemptLimiter, RedisOutage
from server.security.revocation import Revocations
from server.security.tokens import AccessTokens


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    passwords: Passwords
    access_tokens: AccessTokens
    login_limiter: AttemptLimiter
    reset_limiter: AttemptLimiter
    # Residents' public endpoints: per client address and per token, a minute's window.
    public_limiter: AttemptLimiter
    revocations: Revocations

    @classmethod
    def create(cls, settings: Settings) -> Services:
        redis = create_redis(settings.effective_redis_url)
        outage = RedisOutage()
        db = Database(settings.database_url)
        access_tokens = AccessTokens(settings)
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            passwords=Passwords(settings),
            access_tokens=access_tokens,
            login_limiter=AttemptLimiter(
                redis, f"{settings.redis_prefix}login:", settings.login_window_seconds, outage
            ),
            reset_limiter=AttemptLimiter(redis, f"{settings.redis_prefix}reset:", 3600, outage),
            public_limiter=AttemptLimiter(redis, f"{settings.redis_prefix}public:", 60, outage),
            revocations=Revocations(redis, db, settings.redis_prefix, access_tokens.lifetime),
        )

    async def close(self) -> None:
        await self.redis.aclose()
        await self.db.dispose()
