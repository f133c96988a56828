"""The GraphQL endpoint: Strawberry's ASGI view with Doorstep's context and authentication."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from schema.context import Context
from server.core.services import Services
from server.security.tokens import AccessToken, InvalidToken
from server.web import graphiql

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


class BadRequest(Exception):
    """A request that holds no GraphQL request: answered 400 with a GraphQL error (not an
    HTTPException, which Strawberry would answer in plain text)."""

    def response(self) -> JSONResponse:
        error = {"message": str(self), "extensions": {"code": "BAD_REQUEST"}}
        return JSONResponse({"errors": [error]}, status_code=400)


_JSON_KINDS = {str: "a string", int: "a number", float: "a number", bool: "true or false"}


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
        except BadRequest as error:
            await error.response()(scope, receive, send)
        finally:
            for ctx in contexts:
                await ctx.close()
            _open_contexts.reset(token)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """GraphiQL with its scripts from this server, not a CDN: it works offline."""
        return graphiql.page()

    def encode_json(self, data: object) -> str:
        """Responses and websocket messages as orjson writes them: a sync's payload (half
        a megabyte of JSON) took json.dumps 20-40 ms. The same JSON, but for non-ASCII
        characters written as UTF-8 rather than escaped. A str, as Strawberry's own: the
        websocket protocol sends text frames."""
        return orjson.dumps(data).decode()

    def parse_json(self, data: str | bytes) -> Any:
        """Strawberry's, except that a body it cannot use is a 400, not a 500.

        Strawberry passes the request body here as bytes (and query parameters as str). A
        body must be UTF-8 JSON holding one object (Strawberry would treat a string, number,
        boolean or null as one and fail with a 500), or a list when batching is on.
        """
        try:
            value = self.decode_json(data)
        except UnicodeDecodeError:
            raise BadRequest("The request body is not valid UTF-8.") from None
        except json.JSONDecodeError:
            raise BadRequest("The request is not valid JSON.") from None
        if not isinstance(data, bytes) or isinstance(value, dict):
            return value
        if isinstance(value, list):
            if self.schema.config.batching_config is None:
                raise BadRequest("Send one operation per request: batching is not enabled.")
            return value
        kind = "null" if value is None else _JSON_KINDS.get(type(value), "not an object")
        raise BadRequest(f"The request body must be a JSON object, not {kind}.")

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
