"""The data-rights pages of a manage token: see what is held, stop all contact, erase
(after a confirmation step). Names and ids are listed in server/residents/pages.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.core.errors import UserError
from server.core.settings import Settings
from server.residents import csrf, manage_tokens
from server.residents.erasure import erase_my_data_and_commit
from server.residents.page_http import expired, is_form, over_limit, page, refused, services_of
from server.residents.rights import my_data, stop_contact

CONFIRM = "yes"


def manage_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/m/{token}"


def _scope(token: str) -> str:
    return f"/m/{token}"


def _csrf(request: Request, token: str) -> csrf.PageCsrf:
    return csrf.PageCsrf(request, services_of(request).settings, _scope(token))


async def _overview(request: Request, token: str, *, stopped: bool = False) -> Response:
    async with services_of(request).db.session() as session:
        data = await my_data(session, token)
        await session.commit()  # the token's last use
    if data is None:
        return expired(request)
    return page(
        request,
        "manage.html",
        {"data": data, "token": token, "stopped": stopped},
        csrf=_csrf(request, token),
    )


async def manage_page(request: Request) -> Response:
    token = request.path_params["token"]
    if (limited := await over_limit(request, token)) is not None:
        return limited
    return await _overview(request, token)


async def _posted(request: Request, token: str) -> dict[str, str] | Response:
    """The form's fields, or the page refusing it (rate limit, CSRF)."""
    if (limited := await over_limit(request, token)) is not None:
        return limited
    if not is_form(request):
        return refused(request)
    form = await request.form()
    if not csrf.valid(request, services_of(request).settings, _scope(token), form.get(csrf.FIELD)):
        return refused(request)
    return {key: str(value) for key, value in form.items()}


async def _change(
    request: Request, token: str, work: Callable[[AsyncSession], Awaitable[None]]
) -> bool:
    """Run one change of the resident's data, committed; False when the token no longer
    works."""
    try:
        async with services_of(request).db.session() as session:
            await work(session)
            await session.commit()
    except UserError:
        return False
    return True


async def stop_page(request: Request) -> Response:
    token = request.path_params["token"]
    posted = await _posted(request, token)
    if isinstance(posted, Response):
        return posted
    if not await _change(request, token, lambda session: stop_contact(session, token)):
        return expired(request)
    return await _overview(request, token, stopped=True)


async def erase_page(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "GET":
        if (limited := await over_limit(request, token)) is not None:
            return limited
        async with services_of(request).db.session() as session:
            known = await manage_tokens.find(session, token) is not None
        if not known:
            return expired(request)
        return page(request, "erase_confirm.html", {"token": token}, csrf=_csrf(request, token))
    posted = await _posted(request, token)
    if isinstance(posted, Response):
        return posted
    if posted.get("confirm") != CONFIRM:
        return page(
            request,
            "erase_confirm.html",
            {"token": token, "unconfirmed": True},
            status=400,
            csrf=_csrf(request, token),
        )
    services = services_of(request)

    async def erase(session: AsyncSession) -> None:
        await erase_my_data_and_commit(services, session, token)

    if not await _change(request, token, erase):
        return expired(request)
    return page(request, "erased.html")


routes: tuple[BaseRoute, ...] = (
    Route("/m/{token}", manage_page, methods=["GET"]),
    Route("/m/{token}/stop", stop_page, methods=["POST"]),
    Route("/m/{token}/erase", erase_page, methods=["GET", "POST"]),
)
