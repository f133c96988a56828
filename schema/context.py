"""The per-request context: services, the signed-in actor, one database session, loaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as _Info

from server.core.errors import AccessDenied
from server.core.services import Services
from server.security.access import Actor, require_actor
from server.security.tokens import AccessToken

L = TypeVar("L")


@dataclass
class Context:
    services: Services
    request: Request | WebSocket | None
    actor: Actor | None
    # The access token the actor signed in with (None for an anonymous caller).
    token: AccessToken | None = None
    # Set by Strawberry from a websocket's connection_init payload.
    connection_params: dict[str, object] | None = None
    _loaders: dict[Callable[[Context], Any], Any] = field(default_factory=dict, init=False)
    _session: AsyncSession | None = field(default=None, init=False)
    # GraphQL resolves sibling fields concurrently, but one AsyncSession allows one
    # operation at a time: every use goes through db(), which takes turns.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def loaders(self, kind: Callable[[Context], L]) -> L:
        """This request's loaders of one domain, built on first use (schema.loaders)."""
        found = self._loaders.get(kind)
        if found is None:
            found = self._loaders[kind] = kind(self)
        return found

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self._lock:
            if self._session is None:
                self._session = self.services.db.sessionmaker()
            try:
                yield self._session
            except BaseException:
                await self._session.rollback()
                raise

    def sign_in(self, token: AccessToken | None) -> None:
        self.token = token
        claims = token.claims if token else None
        self.actor = Actor(claims.user_id, claims.organisation_id, claims.role) if claims else None

    async def signed_in(self) -> bool:
        """Whether the caller is signed in, with a token not revoked since.

        An HTTP request's token was checked when the request arrived. A websocket stays
        open for hours on the token it started with: it is checked again (through the
        revocation cache) for every operation.
        """
        if self.actor is None:
            return False
        if not isinstance(self.request, WebSocket):
            return True
        if self.token is None or await self.services.revocations.is_revoked(self.token):
            self.sign_in(None)
            return False
        return True

    def require_actor(self) -> Actor:
        return require_actor(self.actor)

    def require_token(self) -> AccessToken:
        if self.token is None:
            raise AccessDenied("UNAUTHENTICATED")
        return self.token

    @property
    def client_address(self) -> str:
        client = self.request.client if self.request is not None else None
        return client.host if client else "unknown"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


Info = _Info[Context, None]
