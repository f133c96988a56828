"""The residents' server-rendered pages: answering a campaign (/r/<token>), its QR code
(/r/<token>/qr.png) and data rights (/m/<manage token>, server/residents/manage_pages.py).

No JavaScript, nothing from another host, every text from server/residents/texts.py.
Stable names that browser tests rely on (keep them):

Response page /r/<token> (form POSTs to the same URL):
  hidden ``csrf``, ``version`` (the question set version)
  question N (0-based, in the campaign's order): field name ``answer-N``; a TEXT question is
    ``<textarea id="answer-N">``; other kinds are radios/checkboxes ``id="answer-N-K"``
    (K = option index; SCALE values 1..5, YES_NO values 1 = Yes, 0 = No, choices their
    text) in ``<fieldset id="question-N">``; its error ``id="answer-N-error"``
  rating: radios ``name="rating"`` values 0..10, ids ``rating-0``..``rating-10``, in
    ``<fieldset id="rating">``; ``<textarea id="comment" name="comment">``
  consent checkboxes (value ``yes``): ``store_details``, ``contact_again``, ``hear_back``
  contact inputs: ``name``, ``email``, ``phone``, ``postcode`` (ids the same); a field's
    error has id ``<field>-error``
  submit ``<button id="submit">Send my answers</button>``; error summary
    ``id="error-summary"`` (heading "There is a problem"), links to ``#<control id>``
  h1 per state: the campaign title (form), "Thank you" (the manage link is
    ``<a id="manage-link">``), "You have already answered", "This link has expired",
    "This form could not be sent" (403), "Too many requests" (429), "This campaign has
    closed" (410, on opening or sending)

Manage page /m/<token>: h1 "Your information"; sections ``id="details"``, ``id="consent"``,
  ``id="responses"``, ``id="conversations"``; form POST /m/<token>/stop with
  ``<button id="stop-contact">Stop all contact</button>`` (then ``id="notice"`` "Done: we
  will not contact you again."); ``<a id="erase-link">Erase my data</a>`` to
  /m/<token>/erase: h1 "Erase your data?", checkbox ``name="confirm" value="yes"
  id="confirm"``, ``<button id="erase-confirm">Yes, erase my data</button>``, then h1
  "Your data has been erased".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.core.conflicts import conflict_for
from server.core.errors import Problem, UserError, UserErrorCode
from server.residents import csrf, qr
from server.residents.invitations import OpenInvitation, invitation_url, open_invitation
from server.residents.manage_pages import manage_url
from server.residents.manage_pages import routes as manage_routes
from server.residents.page_forms import Submission, Typed, place, read
from server.residents.page_http import (
    CSS_PATH,
    HEADERS,
    expired,
    is_form,
    over_limit,
    page,
    refused,
    services_of,
    stylesheet,
)
from server.residents.responses import respond
from server.residents.texts import PAGE_TEXTS


def _scope(token: str) -> str:
    return f"/r/{token}"


def _form_context(opened: OpenInvitation, typed: Typed) -> dict[str, Any]:
    return {
        "opened": opened,
        "questions": opened.questions,
        "typed": typed,
        "errors": {},
        "summary": [],
        "version": str(opened.question_set_version),
    }


async def _open(request: Request, token: str) -> OpenInvitation | None:
    async with services_of(request).db.session() as session:
        return await open_invitation(session, token)


async def response_page(request: Request) -> Response:
    token = request.path_params["token"]
    if (limited := await over_limit(request, token)) is not None:
        return limited
    if request.method == "POST":
        return await _submit(request, token)
    opened = await _open(request, token)
    if opened is None:
        return expired(request)
    if opened.already_responded:
        return page(request, "already.html")
    if opened.closed:
        return page(request, "closed.html", status=410)
    return page(
        request,
        "respond.html",
        _form_context(opened, Typed()),
        csrf=csrf.PageCsrf(request, services_of(request).settings, _scope(token)),
    )


async def _submit(request: Request, token: str) -> Response:
    services = services_of(request)
    if not is_form(request):
        return refused(request)
    form = await request.form()
    if not csrf.valid(request, services.settings, _scope(token), form.get(csrf.FIELD)):
        return refused(request)
    opened = await _open(request, token)
    if opened is None:
        return expired(request)
    if opened.already_responded:
        return page(request, "already.html")
    submission = read(form, opened.questions)
    if submission.typed.version != str(opened.question_set_version):
        # The form was of other questions: its answers cannot be read against these ones.
        changed = Problem(UserErrorCode.INVALID, "", "input.questionSetVersion")
        return _problems(request, token, opened, submission, UserError(changed))
    try:
        async with services.db.session() as session:
            responded = await respond(session, token, submission.data)
            await session.commit()
    except UserError as error:
        return _problems(request, token, opened, submission, error)
    except IntegrityError as error:  # another response to this invitation got in first
        if conflict_for(error) is None:
            raise
        return page(request, "already.html")
    manage = (
        manage_url(services.settings, responded.manage_token) if responded.manage_token else None
    )
    return page(request, "thanks.html", {"opened": opened, "manage_url": manage})


def _problems(
    request: Request, token: str, opened: OpenInvitation, submission: Submission, error: UserError
) -> Response:
    codes = {problem.code for problem in error.problems if problem.field == "token"}
    if UserErrorCode.EXPIRED in codes:
        return expired(request)
    if UserErrorCode.ALREADY_DONE in codes:
        return page(request, "already.html")
    if UserErrorCode.CLOSED in codes:
        return page(request, "closed.html", status=410)
    placed = place(error.problems, submission, opened.questions, PAGE_TEXTS)
    typed = submission.typed
    if typed.version != str(opened.question_set_version):
        typed.answers = {}
    context = _form_context(opened, typed)
    context.update(errors=placed.by_field, summary=placed.summary)
    return page(
        request,
        "respond.html",
        context,
        status=400,
        csrf=csrf.PageCsrf(request, services_of(request).settings, _scope(token)),
    )


async def qr_code(request: Request) -> Response:
    token = request.path_params["token"]
    if (limited := await over_limit(request, token)) is not None:
        return limited
    opened = await _open(request, token)
    if opened is None:
        return expired(request)
    png = qr.png(invitation_url(services_of(request).settings, token))
    headers = {**HEADERS, "Content-Disposition": 'inline; filename="invitation-qr.png"'}
    return Response(png, media_type="image/png", headers=headers)


routes: tuple[BaseRoute, ...] = (
    Route("/r/{token}", response_page, methods=["GET", "POST"]),
    Route("/r/{token}/qr.png", qr_code, methods=["GET"]),
    *manage_routes,
    Route(CSS_PATH, stylesheet, methods=["GET"]),
)
