"""Ending sessions before their access tokens expire, on every API process.

Two kinds of record:

- a **family**: one sign-in's refresh-token family, named by its access tokens' ``sid``.
  Logout and refresh-token reuse end one family.
- a **user cut-off**: every access token of the user issued before it is refused.
  Deactivation, a role change and a new password end every session of the user.

The database is the record (``refresh_tokens.revoked_at``, ``users.sessions_revoked_at``),
written in the transaction of the change. After the commit, ``publish`` copies it to
Redis (``<prefix>revoked:family:<id>``, ``<prefix>revoked:user:<id>``), where every API
process reads it. A key lives as long as an access token can (the configured lifetime,
plus a minute for clocks): tokens that claim a longer life are refused outright, so by
then every token the key could refuse has expired.

``is_revoked`` answers from an in-process cache (``cache_seconds``, 2 s by default), so most
requests pay a dict lookup; on a miss, one MGET to Redis. When Redis cannot answer, the
database does. Redis may also come back empty (a restart without persistence): a marker key
says Redis holds every record of the last token lifetime; while it is missing the database
answers, and one process refills Redis from the database and sets the marker again. The
marker expires every few minutes, which also heals a copy lost because the process that
wrote the record died before Redis came back (a failed write is otherwise kept in
``_pending`` and written on the next successful use of Redis).

If both Redis and the database are down, the check lets the token through (and says so
in the log): every resolver then fails on the database anyway, and a client told
UNAUTHENTICATED would throw away a session that is still good.

Clocks: a cut-off and an access token's ``iat`` are both epoch milliseconds from the
clock of the process that wrote them; API processes on several hosts need synchronised
clocks (NTP), as JWT expiry already requires.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import RefreshToken, User
from server.core.db import Database
from server.core.errors import AccessDenied
from server.core.models import utcnow
from server.security.tokens import AccessToken, epoch_millis

log = logging.getLogger(__name__)
T = TypeVar("T")

CACHE_SECONDS = 2.0
WATCH_SECONDS = 1.0  # how often a live subscription checks its token
CLOCK_SLACK_SECONDS = 60
MARKER_SECONDS = 300
REDIS_RETRY_SECONDS = 1.0  # after a Redis failure, ask the database for this long
MAX_CACHED = 50_000
SESSION_ENDED = "This session has ended. Sign in again."

# SET the user's cut-off unless a later one is there already (writes can cross).
_RAISE_CUTOFF = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
"""


@dataclass(frozen=True)
class Revoked:
    """What a transaction revoked: publish it once the transaction has committed."""

    families: frozenset[uuid.UUID] = frozenset()
    users: dict[uuid.UUID, float] = field(default_factory=dict)  # user -> cut-off (epoch s)


async def end_family(session: AsyncSession, family_id: uuid.UUID) -> Revoked:
    """End one sign-in: its refresh tokens and its access tokens stop working."""
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return Revoked(families=frozenset({family_id}))


async def end_sessions(session: AsyncSession, user: User) -> Revoked:
    """End every session of ``user``: refresh tokens, and access tokens issued until now.

    The user's row is written first, so on PostgreSQL a sign-in or refresh that holds it
    (they lock it) either finishes before, and is cut off, or starts after.
    """
    cutoff = epoch_millis(utcnow())
    user.sessions_revoked_at = datetime.fromtimestamp(cutoff, UTC)
    await session.flush()
    await session.execute(
        sa.update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=user.sessions_revoked_at)
    )
    return Revoked(users={user.id: cutoff})


def _millis(at: datetime | None) -> float:
    """A stored cut-off back as the epoch seconds it was written from."""
    return round(at.timestamp(), 3) if at else 0.0


class Revocations:
    """The revocation records as every API process reads them: see the module's docstring."""

    def __init__(
        self,
        redis: Redis,
        db: Database,
        prefix: str,
        token_lifetime: timedelta,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._redis = redis
        self._db = db
        self._prefix = f"{prefix}revoked:"
        self._ttl = int(token_lifetime.total_seconds()) + CLOCK_SLACK_SECONDS
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, float | None]] = {}
        self._pending: list[Revoked] = []
        self._redis_retry_at = 0.0
        self._redis_down = False
        self._raise_cutoff = redis.register_script(_RAISE_CUTOFF)

    def _family_key(self, family_id: uuid.UUID) -> str:
        return f"{self._prefix}family:{family_id}"

    def _user_key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}user:{user_id}"

    @property
    def _marker_key(self) -> str:
        return f"{self._prefix}complete"

    # --- writing -------------------------------------------------------------------------

    async def publish(self, revoked: Revoked) -> None:
        """Copy committed revocations to Redis; this process knows them at once."""
        if not revoked.families and not revoked.users:
            return
        now = time.monotonic()
        for family_id in revoked.families:
            self._remember(self._family_key(family_id), 1.0, now)
        for user_id, cutoff in revoked.users.items():
            key = self._user_key(user_id)
            _, known = self._cache.get(key, (0.0, None))
            self._remember(key, max(cutoff, known or 0.0), now)
        self._pending.append(revoked)
        await self._flush_pending()

    async def _flush_pending(self) -> bool:
        """Write what could not be written before; False while Redis stays unreachable."""
        if not self._pending:
            return True
        if time.monotonic() < self._redis_retry_at:
            return False
        pending, self._pending = self._pending, []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for revoked in pending:
                    for family_id in revoked.families:
                        pipe.set(self._family_key(family_id), 1, ex=self._ttl)
                    for user_id, cutoff in revoked.users.items():
                        await self._raise_cutoff(
                            keys=[self._user_key(user_id)], args=[cutoff, self._ttl], client=pipe
                        )
                await pipe.execute()
        except (RedisError, OSError):
            self._pending = pending + self._pending
            self._redis_failed()
            return False
        self._redis_answered()
        return True

    # --- reading -------------------------------------------------------------------------

    async def is_revoked(self, token: AccessToken) -> bool:
        family_key = self._family_key(token.claims.session_id)
        user_key = self._user_key(token.claims.user_id)
        now = time.monotonic()
        family = self._cache.get(family_key)
        user = self._cache.get(user_key)
        if family is not None and user is not None and family[0] > now and user[0] > now:
            return self._refuses(token, family[1], user[1])
        found = await self._from_redis(token, family_key, user_key)
        if found is None:
            found = await self._from_database(token)
        self._remember(family_key, found[0], now)
        self._remember(user_key, found[1], now)
        return self._refuses(token, *found)

    @staticmethod
    def _refuses(token: AccessToken, family: float | None, cutoff: float | None) -> bool:
        return family is not None or (cutoff is not None and token.issued_at < cutoff)

    def _remember(self, key: str, value: float | None, now: float) -> None:
        if len(self._cache) >= MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, value)

    async def _from_redis(
        self, token: AccessToken, family_key: str, user_key: str
    ) -> tuple[float | None, float | None] | None:
        if not await self._flush_pending():
            return None
        if time.monotonic() < self._redis_retry_at:
            return None
        try:
            marker, family, cutoff = await self._redis.mget(self._marker_key, family_key, user_key)
        except (RedisError, OSError):
            self._redis_failed()
            return None
        self._redis_answered()
        if marker is None:
            await self._refill()
            return None  # the database answers this once
        return (1.0 if family is not None else None, float(cutoff) if cutoff else None)

    async def _from_database(self, token: AccessToken) -> tuple[float | None, float | None]:
        family_ended = (
            sa.select(col(RefreshToken.id))
            .where(
                col(RefreshToken.family_id) == token.claims.session_id,
                col(RefreshToken.revoked_at).is_not(None),
            )
            .exists()
        )
        cutoff = (
            sa.select(col(User.sessions_revoked_at))
            .where(col(User.id) == token.claims.user_id)
            .scalar_subquery()
        )
        try:
            async with self._db.engine.connect() as conn:
                ended, revoked_at = (await conn.execute(sa.select(family_ended, cutoff))).one()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("revocation check: neither Redis nor the database answered (%s)", exc)
            return None, None
        return (1.0 if ended else None, _millis(revoked_at) if revoked_at else None)

    async def _refill(self) -> None:
        """Copy the last token lifetime's revocations from the database into Redis."""
        lock = f"{self._prefix}refilling"
        try:
            if not await self._redis.set(lock, 1, nx=True, ex=30):
                return  # another process is at it
        except (RedisError, OSError):
            self._redis_failed()
            return
        try:
            since = utcnow() - timedelta(seconds=self._ttl)
            async with self._db.engine.connect() as conn:
                families = (
                    await conn.execute(
                        sa.select(col(RefreshToken.family_id), sa.func.max(RefreshToken.revoked_at))
                        .where(col(RefreshToken.revoked_at) >= since)
                        .group_by(col(RefreshToken.family_id))
                    )
                ).all()
                users = (
                    await conn.execute(
                        sa.select(col(User.id), col(User.sessions_revoked_at)).where(
                            col(User.sessions_revoked_at) >= since
                        )
                    )
                ).all()
            now = time.time()

            def left(at: datetime | None) -> int:
                assert at is not None  # selected where it is set
                return max(1, int(self._ttl - (now - at.timestamp())))

            async with self._redis.pipeline(transaction=False) as pipe:
                for family_id, at in families:
                    pipe.set(self._family_key(family_id), 1, ex=left(at))
                for user_id, at in users:
                    await self._raise_cutoff(
                        keys=[self._user_key(user_id)],
                        args=[_millis(at), left(at)],
                        client=pipe,
                    )
                pipe.set(self._marker_key, 1, ex=MARKER_SECONDS)
                await pipe.execute()
            log.info(
                "revocations: Redis refilled from the database (%d families, %d users)",
                len(families),
                len(users),
            )
        except (SQLAlchemyError, RedisError, OSError) as exc:
            log.warning("revocations: could not refill Redis from the database (%s)", exc)
        finally:
            with suppress(RedisError, OSError):
                await self._redis.delete(lock)

    def _redis_failed(self) -> None:
        self._redis_retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        if not self._redis_down:
            self._redis_down = True
            log.warning("revocation checks: Redis unreachable, asking the database")

    def _redis_answered(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.info("revocation checks: Redis is back")

    # --- live subscriptions ------------------------------------------------------------

    async def while_valid(
        self, token: AccessToken, source: AsyncIterator[T], every: float = WATCH_SECONDS
    ) -> AsyncIterator[T]:
        """``source``'s items while ``token`` stays good; once it is revoked, UNAUTHENTICATED.

        Checked at the start, before every item and at least every ``every`` seconds, so a
        live subscription ends within ``every`` + ``cache_seconds`` of the revocation.
        """

        async def following() -> T:
            return await anext(source)

        upcoming: asyncio.Task[T] | None = None
        try:
            while True:
                if await self.is_revoked(token):
                    raise AccessDenied("UNAUTHENTICATED", SESSION_ENDED)
                if upcoming is None:
                    upcoming = asyncio.ensure_future(following())
                done, _ = await asyncio.wait({upcoming}, timeout=every)
                if not done:
                    continue
                ready, upcoming = upcoming, None
                try:
                    item = ready.result()
                except StopAsyncIteration:
                    return
                if await self.is_revoked(token):
                    raise AccessDenied("UNAUTHENTICATED", SESSION_ENDED)
                yield item
        finally:
            if upcoming is not None:
                upcoming.cancel()
                with suppress(asyncio.CancelledError, StopAsyncIteration):
                    await upcoming
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
