"""The operators' pages behind HTTP Basic auth: saq's web UI of the job queue
(/ops/queue) and the outbox with its dead rows (/ops/outbox).

Off unless DOORSTEP_OPS_PASSWORD is set. They show every organisation's jobs (ids only),
so they are for whoever runs the service, not for an organisation's admins; those see
their own failed deliveries through the `deliveryFailures` query.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from saq.queue.redis import RedisQueue
from saq.web.starlette import saq_web
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.core.services import Services
from server.core.settings import Settings
from server.outbox.dead_letters import outbox_status
from server.web.pages import templates

OPS_USER = "ops"


class BasicAuth:
    def __init__(self, app: ASGIApp, password: str) -> None:
        self.app = app
        self.password = password

    def _allowed(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, OPS_USER) & hmac.compare_digest(password, self.password)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        if scope["type"] == "http" and self._allowed(
            headers.get(b"authorization", b"").decode("latin-1")
        ):
            await self.app(scope, receive, send)
            return
        refusal = PlainTextResponse(
            "Sign in as the operator.",
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="doorstep-ops"'},
        )
        await refusal(scope, receive, send)


async def outbox_page(request: Request) -> Response:
    """Counts of the outbox's rows by state, and the dead rows with their last error."""
    services: Services = request.app.state.services
    async with services.db.session() as session:
        status = await outbox_status(session)
    return templates.TemplateResponse(
        request, "ops_outbox.html", {"status": status}, headers={"Cache-Control": "no-store"}
    )


def ops_routes(settings: Settings, queue: RedisQueue) -> list[BaseRoute]:
    if not settings.ops_password:
        return []
    password = settings.ops_password
    return [
        Mount("/ops/queue", app=BasicAuth(saq_web("/ops/queue", [queue]), password)),
        Route("/ops/outbox", BasicAuth(request_response(outbox_page), password)),
    ]
