"""The residents' pages over HTTP: /r/<token> (answering, its QR code) and /m/<token>
(data rights), with CSRF, the strict headers and the rate limit."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from server.campaigns.enums import CampaignKind, CampaignStatus, QuestionKind
from server.campaigns.models import Campaign, QuestionSet, Resident
from server.core.models import utcnow
from server.core.services import Services
from server.residents import qr
from server.residents.enums import InvitationChannel
from server.residents.invitations import invitation_url
from server.residents.models import Invitation, Response, ResponseAnswer
from server.residents.tokens import new_token
from tests.campaign_rows import question
from tests.conftest import Org

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
QUESTIONS = [
    question("What should change on your street?", required=True),
    question("How safe do you feel at night?", QuestionKind.SCALE),
    question("Would you come to a meeting?", QuestionKind.YES_NO, required=True),
    question("Which matters most?", QuestionKind.SINGLE_CHOICE, choices=["Housing", "Parks"]),
    question("What would you help with?", QuestionKind.MULTI_CHOICE, choices=["Flyers", "Calls"]),
]


@dataclass
class Invited:
    campaign: Campaign
    token: str

    @property
    def path(self) -> str:
        return f"/r/{self.token}"


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://doorstep.test") as client:
        yield client


async def invite(
    services: Services, org: Org, *, expires_in: timedelta = timedelta(days=30)
) -> Invited:
    token, digest = new_token()
    async with services.db.session() as session:
        campaign = Campaign(
            organisation_id=org.organisation.id,
            kind=CampaignKind.LISTENING,
            title="Our Street",
            description="Tell us what you think of the street.",
            status=CampaignStatus.ACTIVE,
        )
        session.add(campaign)
        await session.flush()
        session.add(
            QuestionSet(
                organisation_id=org.organisation.id,
                campaign_id=campaign.id,
                version=1,
                questions=QUESTIONS,
            )
        )
        session.add(
            Invitation(
                organisation_id=org.organisation.id,
                campaign_id=campaign.id,
                channel=InvitationChannel.LINK,
                token_hash=digest,
                expires_at=utcnow() + expires_in,
            )
        )
        await session.commit()
    return Invited(campaign, token)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return html.unescape(match[1])


def answers_form(page: str, **changes: str | list[str]) -> dict[str, Any]:
    """A complete, valid answer to QUESTIONS with the page's CSRF field."""
    form: dict[str, Any] = {
        "csrf": hidden(page, "csrf"),
        "version": hidden(page, "version"),
        "answer-0": "More trees",
        "answer-1": "4",
        "answer-2": "1",
        "answer-3": "Parks",
        "answer-4": ["Flyers", "Calls"],
        "rating": "9",
        "comment": "Thanks for asking",
    }
    form.update(changes)
    return form


async def responses_of(services: Services, campaign_id: uuid.UUID) -> list[Response]:
    async with services.db.session() as session:
        found = await session.scalars(
            select(Response).where(col(Response.campaign_id) == campaign_id)
        )
        return list(found)


def error_of(page: str, field: str) -> str:
    match = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', page, re.S)
    assert match, f"no error next to {field}"
    return html.unescape(re.sub(r"<[^>]+>", "", match[1]))


async def test_the_page_shows_the_campaign_questions_consent_and_notice(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    org = await make_org("Riverside Tenants")
    invited = await invite(services, org)
    page = await http.get(invited.path)
    assert page.status_code == 200
    text = page.text
    assert '<html lang="en">' in text
    assert "<title>Our Street - have your say - Doorstep</title>" in text
    assert "Riverside Tenants asks for your views" in text
    assert "Tell us what you think of the street." in text
    for q in QUESTIONS:
        assert html.escape(q["prompt"], quote=False) in text
    assert '<textarea id="answer-0" name="answer-0" rows="4" required>' in text
    assert text.count('name="answer-1" value=') == 5  # scale 1..5
    assert 'id="answer-2-0" name="answer-2" value="1"' in text  # yes
    assert '<input type="radio" id="answer-3-1" name="answer-3" value="Parks"' in text
    assert '<input type="checkbox" id="answer-4-0" name="answer-4" value="Flyers"' in text
    assert text.count('name="rating" value=') == 11
    for name in ("store_details", "contact_again", "hear_back", "name", "email", "phone"):
        assert f'<label for="{name}">' in text
    assert "How we use your information" in text
    assert "Riverside Tenants asks these questions" in text  # the standard notice
    assert '<button type="submit" id="submit">Send my answers</button>' in text
    assert "<script" not in text and "style=" not in text
    # Every field has a label.
    ids = re.findall(r'<(?:input|textarea)[^>]* id="([^"]+)"', text)
    assert len(ids) > 20
    for field_id in ids:
        assert f'<label for="{field_id}">' in text, field_id


async def test_headers_are_strict_and_nothing_comes_from_another_host(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    page = await http.get(invited.path)
    for response in (
        page,
        await http.get("/r/not-a-token"),
        await http.get(f"{invited.path}/qr.png"),
    ):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    urls = re.findall(r'(?:href|src|action)="([^"]*)"', page.text)
    assert urls
    assert all(url.startswith(("/", "#")) and not url.startswith("//") for url in urls), urls
    [css] = [url for url in urls if url.endswith(".css")]
    sheet = await http.get(css)
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/css")
    assert "http" not in sheet.text and "@import" not in sheet.text


async def test_a_post_without_its_csrf_token_is_refused_and_stores_nothing(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    page = (await http.get(invited.path)).text
    form = answers_form(page)
    missing = {k: v for k, v in form.items() if k != "csrf"}
    assert (await http.post(invited.path, data=missing)).status_code == 403
    forged = await http.post(invited.path, data={**form, "csrf": "0" * 64})
    assert forged.status_code == 403
    assert "This form could not be sent" in forged.text
    # The right field without the cookie it was made for (another site's post) is refused.
    http.cookies.clear()
    assert (await http.post(invited.path, data=form)).status_code == 403
    # A field made for another invitation's page does not fit this one.
    other = await invite(services, await make_org())
    other_page = (await http.get(other.path)).text
    assert (await http.post(invited.path, data=answers_form(other_page))).status_code == 403
    assert await responses_of(services, invited.campaign.id) == []


async def test_a_valid_post_stores_the_response_and_thanks_with_a_manage_link(
    http: httpx.AsyncClient, services: Services, make_org: Any, gql: Any
) -> None:
    org = await make_org()
    invited = await invite(services, org)
    page = (await http.get(invited.path)).text
    form = answers_form(
        page, store_details="yes", hear_back="yes", name="Ada", email="ada@example.org"
    )
    thanks = await http.post(invited.path, data=form)
    assert thanks.status_code == 200, thanks.text
    assert "<title>Thank you - Doorstep</title>" in thanks.text
    [stored] = await responses_of(services, invited.campaign.id)
    assert stored.rating == 9
    assert stored.comment == "Thanks for asking"
    async with services.db.session() as session:
        answers = list(
            await session.scalars(
                select(ResponseAnswer).where(col(ResponseAnswer.response_id) == stored.id)
            )
        )
    by_question = {str(a.question_id): a for a in answers}
    assert by_question[QUESTIONS[0]["id"]].text == "More trees"
    assert by_question[QUESTIONS[1]["id"]].number == 4
    assert by_question[QUESTIONS[4]["id"]].choices == ["Flyers", "Calls"]
    report = await gql.op("CampaignReport", {"id": str(invited.campaign.id)}, token=org.token())
    assert report["campaign"]["stats"]["responseCount"] == 1

    match = re.search(r'<a id="manage-link" href="([^"]+)">', thanks.text)
    assert match
    manage = match[1]
    assert manage.startswith(f"{services.settings.public_url}/m/")
    mine = await http.get(manage.removeprefix(services.settings.public_url))
    assert mine.status_code == 200
    assert "ada@example.org" in mine.text and "More trees" in mine.text

    again = await http.get(invited.path)
    assert "You have already answered" in again.text
    resent = await http.post(invited.path, data=form)
    assert "You have already answered" in resent.text
    assert len(await responses_of(services, invited.campaign.id)) == 1


async def test_without_consent_nothing_identifying_is_kept_and_no_link_is_given(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    page = (await http.get(invited.path)).text
    thanks = await http.post(invited.path, data=answers_form(page, name="Bo", email="bo@x.org"))
    assert thanks.status_code == 200
    assert 'id="manage-link"' not in thanks.text
    assert "nothing that identifies you was kept" in thanks.text
    async with services.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Resident)) == 0


async def test_a_bad_answer_is_shown_next_to_its_field_and_keeps_what_was_typed(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    page = (await http.get(invited.path)).text
    form = answers_form(
        page,
        **{"answer-0": "", "answer-1": "7"},
        store_details="yes",
        name="Cy <Jones>",
        email="not an email",
        comment="Keep <this>",
    )
    del form["answer-2"]
    shown = await http.post(invited.path, data=form)
    assert shown.status_code == 400
    text = shown.text
    assert text.startswith("<!doctype html>")
    assert "<title>Error: Our Street" in text
    assert 'id="error-summary"' in text and "There is a problem" in text
    assert error_of(text, "answer-0") == "Error: Answer this question."
    assert "1 to 5" in error_of(text, "answer-1")
    assert error_of(text, "answer-2") == "Error: Answer this question."
    assert error_of(text, "email")
    for anchor in ("#answer-0", "#answer-1-0", "#answer-2-0", "#email"):
        assert f'<a href="{anchor}">' in text
    assert 'aria-invalid="true" aria-describedby="email-error"' in text
    assert 'id="answer-0" name="answer-0" rows="4" required aria-invalid="true"' in text
    # What was typed and chosen is still there (escaped).
    assert 'value="Cy &lt;Jones&gt;"' in text
    assert ">Keep &lt;this&gt;</textarea>" in text
    assert 'value="Parks" checked' in text
    assert 'value="Flyers" checked' in text and 'value="Calls" checked' in text
    assert 'id="rating-9" name="rating" value="9" checked' in text
    assert 'id="store_details" name="store_details" value="yes" checked' in text
    assert await responses_of(services, invited.campaign.id) == []
    # Corrected, the same page's form goes through.
    fixed = {**form, "answer-0": "More light", "answer-1": "2", "answer-2": "0"}
    fixed.update(email="cy@example.org", csrf=hidden(text, "csrf"))
    assert (await http.post(invited.path, data=fixed)).status_code == 200
    assert len(await responses_of(services, invited.campaign.id)) == 1


async def test_unknown_and_expired_links_get_the_same_friendly_page(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    expired = await invite(services, await make_org(), expires_in=timedelta(seconds=-1))
    pages = [
        await http.get(expired.path),
        await http.get(f"/r/{new_token()[0]}"),
        await http.get(f"{expired.path}/qr.png"),
    ]
    for page in pages:
        assert page.status_code == 404
        assert "<h1>This link has expired</h1>" in page.text
    assert pages[0].text == pages[1].text


async def test_the_qr_code_is_a_png_of_the_invitation_url(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    png = await http.get(f"{invited.path}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "no-store"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    url = invitation_url(services.settings, invited.token)
    assert url == f"http://doorstep.test/r/{invited.token}"
    assert png.content == qr.png(url)
    assert png.content != qr.png(f"http://doorstep.test/r/{new_token()[0]}")


async def manage_link(http: httpx.AsyncClient, services: Services, org: Org) -> tuple[str, Invited]:
    invited = await invite(services, org)
    page = (await http.get(invited.path)).text
    form = answers_form(
        page,
        store_details="yes",
        contact_again="yes",
        hear_back="yes",
        name="Dee",
        email="dee@example.org",
        phone="07911 123456",
        postcode="e1 6an",
    )
    thanks = await http.post(invited.path, data=form)
    match = re.search(r'<a id="manage-link" href="([^"]+)">', thanks.text)
    assert match, thanks.text
    return match[1].removeprefix(services.settings.public_url), invited


async def resident_of(services: Services, campaign_id: uuid.UUID) -> Resident:
    [response] = await responses_of(services, campaign_id)
    async with services.db.session() as session:
        resident = await session.get(Resident, response.resident_id)
        assert resident is not None
        return resident


async def test_the_manage_page_shows_what_is_held_and_stops_contact(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    manage, invited = await manage_link(http, services, await make_org())
    page = await http.get(manage)
    assert page.status_code == 200
    text = page.text
    assert "<h1>Your information</h1>" in text
    for shown in ("Dee", "dee@example.org", "+447911123456", "E1 6AN", "Our Street", "More trees"):
        assert shown in text, shown
    # Each answer under its question, in the order asked; a yes/no answer in words.
    answers = re.findall(r'<li><span class="prompt">(.*?)</span> (.*?)</li>', text)
    assert [(html.unescape(q), a) for q, a in answers] == [
        ("What should change on your street?", "More trees"),
        ("How safe do you feel at night?", "4"),
        ("Would you come to a meeting?", "Yes"),
        ("Which matters most?", "Parks"),
        ("What would you help with?", "Flyers, Calls"),
    ]
    assert page.headers["content-security-policy"] == CSP
    assert (await resident_of(services, invited.campaign.id)).contact_again

    refused = await http.post(f"{manage}/stop", data={})
    assert refused.status_code == 403
    assert (await resident_of(services, invited.campaign.id)).contact_again

    stopped = await http.post(f"{manage}/stop", data={"csrf": hidden(text, "csrf")})
    assert stopped.status_code == 200
    assert "Done: we will not contact you again." in stopped.text
    resident = await resident_of(services, invited.campaign.id)
    assert not resident.contact_again and not resident.hear_back


async def test_erasure_needs_confirming_and_then_the_link_stops_working(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    manage, invited = await manage_link(http, services, await make_org())
    overview = (await http.get(manage)).text
    assert f'<a class="button danger" id="erase-link" href="{manage}/erase">' in overview
    confirm = await http.get(f"{manage}/erase")
    assert confirm.status_code == 200
    assert "<h1>Erase your data?</h1>" in confirm.text
    token = hidden(confirm.text, "csrf")

    assert (await http.post(f"{manage}/erase", data={"confirm": "yes"})).status_code == 403
    unconfirmed = await http.post(f"{manage}/erase", data={"csrf": token})
    assert unconfirmed.status_code == 400
    assert error_of(unconfirmed.text, "confirm") == "Error: Tick the box to confirm."
    assert (await resident_of(services, invited.campaign.id)).email == "dee@example.org"

    erased = await http.post(f"{manage}/erase", data={"csrf": token, "confirm": "yes"})
    assert erased.status_code == 200
    assert "<h1>Your data has been erased</h1>" in erased.text
    resident = await resident_of(services, invited.campaign.id)
    assert resident.email is None and resident.name is None
    for gone in (await http.get(manage), await http.get(f"{manage}/erase")):
        assert gone.status_code == 404
        assert "This link has expired" in gone.text
    assert len(await responses_of(services, invited.campaign.id)) == 1


async def test_an_unknown_manage_token_gets_the_expired_page(http: httpx.AsyncClient) -> None:
    page = await http.get(f"/m/{new_token()[0]}")
    assert page.status_code == 404
    assert "This link has expired" in page.text


@pytest.mark.parametrize("settings_update", [{"public_requests_per_token": 3}])
async def test_pages_answer_429_over_the_limit(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    for _ in range(3):
        page = await http.get(invited.path)
        assert page.status_code == 200
    limited = await http.get(invited.path)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"
    assert "Too many requests" in limited.text
    assert (await http.get(f"{invited.path}/qr.png")).status_code == 429
    posted = await http.post(invited.path, data=answers_form(page.text))
    assert posted.status_code == 429
    assert await responses_of(services, invited.campaign.id) == []
    other = await invite(services, await make_org())
    assert (await http.get(other.path)).status_code == 200


async def test_answers_to_a_closed_campaign_are_refused_with_a_plain_page(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    page = (await http.get(invited.path)).text
    async with services.db.session() as session:
        campaign = await session.get(Campaign, invited.campaign.id)
        assert campaign is not None
        campaign.status = CampaignStatus.CLOSED
        await session.commit()
    closed = await http.post(invited.path, data=answers_form(page))
    assert closed.status_code == 410
    assert "<h1>This campaign has closed</h1>" in closed.text
    assert await responses_of(services, invited.campaign.id) == []
    # Opened after it closed, the link says so before anyone starts answering.
    opened = await http.get(invited.path)
    assert opened.status_code == 410
    assert "<h1>This campaign has closed</h1>" in opened.text
    assert 'name="answer-0"' not in opened.text


async def test_the_csrf_cookie_is_http_only_and_strict(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    cookie = (await http.get(invited.path)).headers["set-cookie"]
    assert cookie.startswith("doorstep_csrf=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development over http
    assert "Domain" not in cookie


@pytest.mark.parametrize("settings_update", [{"public_url": "https://doorstep.example"}])
async def test_over_https_the_csrf_cookie_is_a_secure_host_cookie(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    cookie = (await http.get(invited.path)).headers["set-cookie"]
    assert cookie.startswith("__Host-doorstep_csrf=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


async def test_a_form_of_older_questions_is_shown_again_with_the_new_ones(
    http: httpx.AsyncClient, services: Services, make_org: Any
) -> None:
    invited = await invite(services, await make_org())
    page = (await http.get(invited.path)).text
    new_questions = [question("Is the bus stop in the right place?", QuestionKind.YES_NO)]
    async with services.db.session() as session:
        campaign = await session.get(Campaign, invited.campaign.id)
        assert campaign is not None
        campaign.question_set_version = 2
        session.add(
            QuestionSet(
                organisation_id=campaign.organisation_id,
                campaign_id=campaign.id,
                version=2,
                questions=new_questions,
            )
        )
        await session.commit()
    shown = await http.post(invited.path, data=answers_form(page, comment="Still here"))
    assert shown.status_code == 400
    assert "The questions changed while you were answering" in shown.text
    assert "Is the bus stop in the right place?" in shown.text
    assert "What should change on your street?" not in shown.text
    assert ">Still here</textarea>" in shown.text
    assert hidden(shown.text, "version") == "2"
    assert await responses_of(services, invited.campaign.id) == []
