"""The browser harness (tests/browsing.py) itself: axe-core is the vendored file and finds
what it should, the width and keyboard checks see what they should, screenshots are
written at a phone's width."""

from __future__ import annotations

import base64
import hashlib

from playwright.async_api import Page, Route

from tests.browsing import (
    AXE,
    AXE_SHA256,
    AXE_VERSION,
    WIDTH,
    Auditor,
    Screenshots,
    launched,
    page_width,
    phone,
    png_size,
    tab_order,
)

URL = "http://127.0.0.1:9/page"  # never reached: the browser is answered by the test
BAD = """<!doctype html><html><head><title>Bad</title></head><body>
<p style="color:#bbb;background:#fff">Pale text</p><input name="nameless">
<div style="width:900px">Too wide</div><button type="submit">Send</button></body></html>"""
GOOD = """<!doctype html><html lang="en"><head><title>Good</title></head><body><main>
<h1>A form</h1><form method="post"><label for="a">Your street</label>
<input id="a" name="street"><button type="submit">Send</button></form></main></body></html>"""


async def open_html(page: Page, html: str) -> None:
    async def answer(route: Route) -> None:
        await route.fulfill(content_type="text/html", body=html)

    await page.route(URL, answer)
    await page.goto(URL)


def test_axe_core_is_the_vendored_release_with_its_licences() -> None:
    digest = base64.b64encode(hashlib.sha256(AXE.read_bytes()).digest()).decode()
    assert digest == AXE_SHA256
    assert AXE.read_text()[:40].startswith(f"/*! axe v{AXE_VERSION}")
    assert "Mozilla Public License" in (AXE.parent / "axe-core-LICENSE.txt").read_text()
    assert "MIT License" in (AXE.parent / "axe-core-LICENSE-3RD-PARTY.txt").read_text()


async def test_the_checks_fail_a_bad_page_and_pass_a_good_one() -> None:
    shots = Screenshots("harness")
    async with launched() as browser:
        auditor = Auditor(await phone(browser, javascript=True))
        visitor = await phone(browser, javascript=False)
        bad, good = await visitor.new_page(), await visitor.new_page()
        await open_html(bad, BAD)
        await open_html(good, GOOD)
        found = {v["id"] for v in await auditor.violations(bad)}
        assert {"label", "color-contrast", "html-has-lang"} <= found
        assert await auditor.violations(good) == []
        assert await page_width(bad) > WIDTH
        assert await page_width(good) <= WIDTH
        assert await tab_order(good, "button") == [
            "input[name=street][type=text]",
            "button",
        ]
        path = await shots.take(good, "good")
    assert png_size(path)[0] == WIDTH
