"""The set-password page that invitation and reset emails link to."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from server.accounts.sessions import set_password
from server.core.errors import UserError
from server.core.services import Services

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


async def set_password_page(request: Request) -> Response:
    context: dict[str, object] = {"token": request.query_params.get("token", "")}
    if request.method == "POST":
        form = await request.form()
        token, password = str(form.get("token", "")), str(form.get("password", ""))
        services: Services = request.app.state.services
        try:
            async with services.db.session() as session:
                issued = await set_password(session, services, token, password)
        except UserError as error:
            context = {"token": token, "error": error.problems[0].message}
            if error.problems[0].field == "input.token":
                context["token"] = ""
            return templates.TemplateResponse(
                request, "set_password.html", context, status_code=400, headers=HEADERS
            )
        context = {"done": True, "name": issued.user.display_name}
    elif not context["token"]:
        context["error"] = "This link is incomplete. Open the link from your email again."
    return templates.TemplateResponse(request, "set_password.html", context, headers=HEADERS)


routes = [Route("/set-password", set_password_page, methods=["GET", "POST"])]
