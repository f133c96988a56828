"""The Starlette application: routes, middleware and lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from schema import build_schema
from schema.http import GraphQLApp
from server.core.preflight import require_ready
from server.core.queue import create_queue
from server.core.services import Services
from server.core.settings import Settings, get_settings
from server.domains import REGISTRY
from server.notifications.twilio import twilio_status
from server.web import graphiql, pages
from server.web.bodylimit import BodySizeLimitMiddleware
from server.web.ops import ops_routes
from server.web.requestid import RequestIdMiddleware

# Cyclic garbage collection took 30-45% of a request's CPU with Python's defaults (700, 10,
# 10): every 700 allocations it walked the young objects, and each full collection the
# whole start-up heap (schema, SQLAlchemy, Strawberry). Frozen, the start-up heap is out of
# every collection; a young generation of 2,000 keeps RSS in bounds: 10,000 and 50,000 gave
# 155-176 MiB after the bench against 123 at 700, for gains lost in the noise. See 0009.
GC_THRESHOLDS = (2_000, 10, 10)


@contextmanager
def settled_gc() -> Iterator[None]:
    """Collect once, move everything alive after start-up out of the collector's sight
    (``gc.freeze``), and collect the young generation every 2,000 allocations; undone at
    shutdown."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    services = _services(request)
    checks: dict[str, str] = {}
    try:
        await services.db.ping()
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError) as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
    except (RedisError, OSError) as exc:
        checks["redis"] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


def _cors(app: ASGIApp, settings: Settings) -> ASGIApp:
    """Browser clients on DOORSTEP_ALLOWED_ORIGINS may call the API; no other origin may.

    Bearer tokens, not cookies: no credentials mode. Websockets are checked by the
    GraphQL view itself (the same setting, ``allowed_origins``).
    """
    return CORSMiddleware(
        app,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID"],
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    if settings is None:  # built from the environment, as uvicorn's factory does
        settings = get_settings()
        require_ready(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or Services.create(settings)
        try:
            if owned:  # this process serves the app (tests bring their own services)
                with settled_gc():
                    yield
            else:
                yield
        finally:
            # With Redis gone, saq's disconnect raises while unsubscribing: shut down anyway.
            with suppress(RedisError, OSError):
                await queue.disconnect()
            if owned:
                await app.state.services.close()

    queue = create_queue(settings)
    graphql = GraphQLApp(
        _services,
        schema=build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=True,
        allowed_origins=settings.allowed_origins,
    )
    return Starlette(
        debug=False,
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", _cors(graphql, settings)),
            WebSocketRoute("/graphql", graphql),
            Route("/hooks/twilio/status", twilio_status, methods=["POST"]),
            *ops_routes(settings, queue),
            *pages.routes,
            *REGISTRY.routes,
            *graphiql.routes(settings),
        ],
        middleware=[
            # The one place that decides who the client is (request.client, which the rate
            # limits and logs use): X-Forwarded-For and -Proto count only from a trusted
            # proxy, and the client is their rightmost entry that is not a trusted proxy.
            # uvicorn's own proxy handling is off (server.cli.main), so every ASGI server, and
            # the tests, get this same rule from this one setting.
            Middleware(
                ProxyHeadersMiddleware, trusted_hosts=[str(net) for net in settings.proxies]
            ),
            Middleware(RequestIdMiddleware),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
