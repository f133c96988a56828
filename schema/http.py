"""The GraphQL endpoint: Strawberry's ASGI view with Doorstep's context and authentication."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from schema.context import Context
from server.security.tokens import AccessToken, InvalidToken
from server.services import Services

_open_contexts: ContextVar[list[Context] | None] = ContextVar("open_contexts", default=None)


async def token_from_bearer(services: Services, authorization: str | None) -> AccessToken | None:
    """An invalid, expired or revoked token makes an anonymous caller, refused where
    sign-in counts."""
    if not authorization:
        return None
    scheme, _, raw = authorization.partition(" ")
    if scheme.lower() != "bearer" or not raw:
        return None
    try:
        token = services.access_tokens.decode(raw.strip())
    except InvalidToken:
        return None
    if await services.revocations.is_revoked(token):
        return None
    return token


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, services_getter: Any, **kwargs: Any) -> None:
        kwargs.setdefault("subscription_protocols", [GRAPHQL_TRANSPORT_WS_PROTOCOL])
        super().__init__(**kwargs)
        self._services_getter = services_getter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        contexts: list[Context] = []
        token = _open_contexts.set(contexts)
        try:
            await super().__call__(scope, receive, send)
        finally:
            for ctx in contexts:
                await ctx.close()
            _open_contexts.reset(token)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a websocket from connection_init's {"authorization": token}."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization")
        token = str(raw) if raw else ""
        if token and " " not in token.strip():
            token = f"Bearer {token.strip()}"
        context.sign_in(await token_from_bearer(context.services, token or None))
        if context.actor is None:
            raise ConnectionRejectionError({"message": "Sign in to subscribe."})
        return UNSET

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = self._services_getter(request)
        ctx = Context(services=services, request=request, actor=None)
        ctx.sign_in(await token_from_bearer(services, request.headers.get("authorization")))
        contexts = _open_contexts.get()
        if contexts is not None:
            contexts.append(ctx)
        return ctx
