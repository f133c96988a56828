"""The residents' pages in a real browser: Debian's chromium at 360 px with JavaScript off
answers a campaign from its link (a wrong answer first), reaches the thank-you page, follows
the manage link, stops contact and erases the data. Each step is checked by axe-core (WCAG
2.2 AA), for sideways scrolling and for what the person sees, and photographed into
test-output/screenshots/."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from server.campaigns.enums import QuestionKind
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from tests.browsing import WIDTH, Auditor, Screenshots, launched, page_width, phone, tab_order
from tests.campaign_rows import add_campaigns, question
from tests.conftest import REDIS_URL, SECRET, Org
from tests.contract_ops import op
from tests.serve import ServeProcess

pytestmark = pytest.mark.slow

TEXT = "What should change on your street?"
SCALE = "How safe do you feel at night?"
YES_NO = "Would you come to a meeting?"
SINGLE = "Which matters most?"
MULTI = "What would you help with?"
QUESTIONS = [
    question(TEXT, required=True),
    question(SCALE, QuestionKind.SCALE, required=True),
    question(YES_NO, QuestionKind.YES_NO),
    question(SINGLE, QuestionKind.SINGLE_CHOICE, choices=["Housing", "Parks", "Buses"]),
    question(MULTI, QuestionKind.MULTI_CHOICE, choices=["Flyers", "Calls"]),
]
TITLE = "Our Street"
CONTROLS = "input:not([type=hidden]), textarea, select, button"


@pytest.fixture
def database_url(postgresql_url: str) -> str:
    """One database is enough here: the pages are the same on both, and both are tested
    over HTTP in test_resident_pages.py."""
    return postgresql_url


async def link_invitation(api: ServeProcess, org: Org, campaign_id: uuid.UUID) -> str:
    """One LINK invitation made by the organisation's admin through the API: its URL."""
    variables = {"input": {"campaignId": str(campaign_id), "channel": "LINK", "count": 1}}
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        answer = await client.post(
            "/graphql",
            json={"query": op("CreateInvitations"), "variables": variables},
            headers={"Authorization": f"Bearer {org.token(Role.ADMIN)}"},
        )
    body: dict[str, Any] = answer.json()
    assert not body.get("errors"), body
    made = body["data"]["createInvitations"]
    assert made["userErrors"] == [], made
    url: str = made["invitations"][0]["url"]
    assert url.startswith(f"{api.base_url}/r/"), url
    return url


def serve(settings: Settings, tmp_path: Path) -> ServeProcess:
    api = ServeProcess(
        tmp_path,
        {
            "DOORSTEP_DATABASE_URL": settings.database_url,
            "DOORSTEP_REDIS_URL": REDIS_URL,
            "DOORSTEP_REDIS_PREFIX": settings.redis_prefix,
            "DOORSTEP_SECRET_KEY": SECRET,
            "DOORSTEP_VAR_DIR": str(settings.var_dir),
        },
    )
    api.env["DOORSTEP_PUBLIC_URL"] = api.base_url  # the links the pages print lead here
    return api


async def every_control_is_labelled(page: Page) -> int:
    """Each form control has a <label> of its own (buttons: their text); returns how many."""
    controls = page.locator(CONTROLS)
    for index in range(await controls.count()):
        control = controls.nth(index)
        name: str = await control.evaluate(
            "e => e.tagName === 'BUTTON' ? e.textContent.trim()"
            " : Array.from(e.labels).map(l => l.textContent.trim()).join(' ')"
        )
        assert name, await control.evaluate("e => e.outerHTML")
    return await controls.count()


def group(page: Page, legend: str) -> Locator:
    return page.get_by_role("group", name=legend)


async def answer_everything(page: Page, *, street: str, email: str) -> None:
    """Fill the form as a person would, by what each field is labelled."""
    await page.get_by_label(TEXT).fill(street)
    await group(page, SCALE).get_by_label("4").check()
    await group(page, YES_NO).get_by_label("Yes").check()
    await group(page, SINGLE).get_by_label("Parks").check()
    await group(page, MULTI).get_by_label("Flyers").check()
    await group(page, MULTI).get_by_label("Calls").check()
    await group(page, "How likely are you to recommend").get_by_label("9", exact=True).check()
    await page.get_by_label("Anything else you would like to tell us?").fill("Thanks for asking")
    await page.get_by_label("Keep my name and contact details").check()
    await page.get_by_label("You may contact me again").check()
    await page.get_by_label("Tell me what came of this campaign").check()
    await page.get_by_label("Your name").fill("Ada Lovelace")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Phone number").fill("020 7946 0123")
    await page.get_by_label("Postcode").fill("E1 6AN")


@dataclass
class Visit:
    """One person's visit, step by step: at each, the page's heading, no sideways
    scrolling, a screenshot, and (beside the visit) axe-core's check."""

    page: Page
    auditor: Auditor
    shots: Screenshots

    async def step(self, name: str, heading: str) -> None:
        page = self.page
        try:
            await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        except AssertionError as error:
            problems = await page.locator(".error-message").all_inner_texts()
            raise AssertionError(f"{name}: problems on the page {problems}") from error
        await self.shots.take(page, name)
        assert await page_width(page) <= WIDTH, f"{name} scrolls sideways"
        await self.auditor.later(page, name)


async def the_form(visit: Visit, url: str) -> None:
    """The campaign, every kind of question, consent and the notice, reachable by Tab."""
    page = visit.page
    await page.goto(url)
    await visit.step("form", TITLE)
    assert await every_control_is_labelled(page) == 33
    await expect(page.get_by_text("Riverside Tenants asks for your views")).to_be_visible()
    await expect(page.get_by_role("heading", name="How we use your information")).to_be_visible()
    passed = await tab_order(page, "#submit")
    assert {
        "textarea[name=answer-0]",
        "textarea[name=comment]",
        "input[name=email][type=email]",
        "input[name=hear_back][type=checkbox]",
        "input[name=postcode][type=text]",
    } <= set(passed), passed
    assert len({p for p in passed if p.startswith("input[name=answer-")}) == 4, passed


async def a_mistake(visit: Visit) -> None:
    """No text for the required question and no way to reach the person: each error next to
    its field, in the summary, and everything typed still there."""
    page = visit.page
    await answer_everything(page, street="   ", email="")
    await page.get_by_label("Phone number").fill("")
    await page.get_by_role("button", name="Send my answers").click()
    await visit.step("error", TITLE)
    await expect(page).to_have_title(re.compile(rf"^Error: {TITLE}\b"))
    summary = page.locator("#error-summary")
    await expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    await expect(page.locator("#question-0 #answer-0-error")).to_contain_text(
        "Answer this question."
    )
    await expect(page.get_by_label(TEXT)).to_have_attribute("aria-describedby", "answer-0-error")
    await expect(page.locator("#contact #email-error")).to_contain_text("Give an email address")
    await expect(page.get_by_label("Email address")).to_have_attribute("aria-invalid", "true")
    await expect(group(page, SCALE).get_by_label("4")).to_be_checked()
    await expect(group(page, YES_NO).get_by_label("Yes")).to_be_checked()
    await expect(group(page, SINGLE).get_by_label("Parks")).to_be_checked()
    await expect(group(page, MULTI).get_by_label("Flyers")).to_be_checked()
    await expect(group(page, MULTI).get_by_label("Calls")).to_be_checked()
    await expect(page.get_by_label("Anything else")).to_have_value("Thanks for asking")
    await expect(page.get_by_label("Keep my name and contact details")).to_be_checked()
    await expect(page.get_by_label("Your name")).to_have_value("Ada Lovelace")
    await expect(page.get_by_label("Postcode")).to_have_value("E1 6AN")
    # The summary's link takes the keyboard to the field.
    await summary.get_by_role("link", name="Answer this question.").click()
    assert await page.evaluate("document.activeElement.id") == "answer-0"


async def corrected_and_sent(visit: Visit, base_url: str) -> str:
    """The thank-you page; returns its manage link."""
    page = visit.page
    await page.get_by_label(TEXT).fill("More trees")
    await page.get_by_label("Email address").fill("ada@example.org")
    await page.get_by_label("Phone number").fill("020 7946 0123")
    await page.get_by_role("button", name="Send my answers").click()
    await visit.step("thank-you", "Thank you")
    manage = page.locator("#manage-link")
    await expect(manage).to_have_attribute("href", re.compile(rf"^{base_url}/m/[\w-]{{20,}}$"))
    href = await manage.get_attribute("href")
    assert href is not None
    await manage.click()
    assert page.url == href
    return href


async def managed_and_erased(visit: Visit) -> None:
    """What is held, stopping contact, and erasure with its confirmation."""
    page = visit.page
    await visit.step("manage", "Your information")
    details = page.locator("#details")
    for shown in ("Ada Lovelace", "ada@example.org", "+442079460123", "E1 6AN"):
        await expect(details).to_contain_text(shown)
    answers = page.locator("#responses")
    for shown in (TITLE, "More trees", "Parks", "Flyers, Calls", "Thanks for asking"):
        await expect(answers).to_contain_text(shown)
    await expect(page.locator("#consent dd")).to_have_text(["yes", "yes", "yes"])

    await page.get_by_role("button", name="Stop all contact").click()
    await visit.step("contact-stopped", "Your information")
    await expect(page.locator("#notice")).to_have_text("Done: we will not contact you again.")
    await expect(page.locator("#consent dd")).to_have_text(["yes", "no", "no"])

    await page.get_by_role("link", name="Erase my data").click()
    await visit.step("erase-confirm", "Erase your data?")
    await page.get_by_role("button", name="Yes, erase my data").click()
    await visit.step("erase-unconfirmed", "Erase your data?")
    await expect(page.locator("#confirm-error")).to_contain_text("Tick the box to confirm.")
    await page.get_by_label("I understand, erase everything that identifies me").check()
    await page.get_by_role("button", name="Yes, erase my data").click()
    await visit.step("erased", "Your data has been erased")


async def test_a_resident_answers_and_erases_their_data_with_javascript_off(
    settings: Settings, services: Services, make_org: Any, tmp_path: Path
) -> None:
    org = await make_org("Riverside Tenants")
    (campaign,) = await add_campaigns(services, org, [TITLE], asked=QUESTIONS)
    shots = Screenshots("resident")
    requested: list[str] = []
    async with serve(settings, tmp_path) as api, launched() as browser:
        url = await link_invitation(api, org, campaign.id)
        visitor = await phone(browser, javascript=False)
        visitor.on("request", lambda request: requested.append(request.url))
        async with Auditor(await phone(browser, javascript=True)) as auditor:
            visit = Visit(await visitor.new_page(), auditor, shots)
            await the_form(visit, url)
            await a_mistake(visit)
            manage_url = await corrected_and_sent(visit, api.base_url)
            await managed_and_erased(visit)
            # The manage link is dead now, and the invitation's link answered once.
            await visit.page.goto(manage_url)
            await visit.step("manage-after-erasure", "This link has expired")
            await visit.page.goto(url)
            await visit.step("link-used", "You have already answered")
            assert await auditor.verdict() == len(shots.taken) == 10
    outside = [address for address in requested if not address.startswith(api.base_url)]
    assert outside == [], outside
