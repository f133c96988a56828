"""A real browser for tests: Debian's ``chromium`` driven by Playwright, at a phone's width,
with axe-core's accessibility check and a screenshot of each step.

The visitor's context has JavaScript off, as on an old phone. Playwright's own ``evaluate``
still works there (it goes through the DevTools protocol), so widths and focus are measured in
the visitor's page. axe-core needs the page's timers, which are off with JavaScript, so each
page the visitor saw is checked again in a second context with JavaScript on: the same HTML at
the same address, the page's Content-Security-Policy bypassed so that axe may run.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from tests.conftest import unavailable

HERE = Path(__file__).parent
AXE = HERE / "browser" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="  # its package's sri-history.json
SCREENSHOTS = HERE.parent / "test-output" / "screenshots"
WIDTH, HEIGHT = 360, 740
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        unavailable("headless Chromium is needed: apt-get install chromium (.ci/run does)")
    return path


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """Headless Chromium that resolves no host but 127.0.0.1: a page that loads anything from
    elsewhere fails to load it."""
    executable = chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",  # tests run as root here
                "--disable-gpu",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            ],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def phone(browser: Browser, *, javascript: bool) -> BrowserContext:
    return await browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        device_scale_factor=1,
        java_script_enabled=javascript,
        bypass_csp=javascript,
    )


def describe(violations: list[dict[str, Any]]) -> str:
    """axe-core's violations, one rule a paragraph, each failing element on its own line."""
    lines: list[str] = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"  at {json.dumps(node['target'])}: {node['html'][:200]}")
            for line in (node.get("failureSummary") or "").splitlines():
                lines.append(f"    {line}")
    return "\n".join(lines)


class Auditor:
    """Runs axe-core (WCAG 2.0, 2.1 and 2.2, levels A and AA) on what a visitor's page shows.

    ``later`` starts the check of a page as it is now and lets the visitor go on, so the
    checks run beside the visit; ``verdict`` waits for them all and fails with every
    violation found, step by step. As a context manager it never leaves a check running.
    """

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.pending: list[tuple[str, str, asyncio.Task[list[dict[str, Any]]]]] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.gather(*(task for _, _, task in self.pending), return_exceptions=True)

    async def violations(self, seen: Page) -> list[dict[str, Any]]:
        return await self._run(seen.url, await seen.content())

    async def _run(self, url: str, html: str) -> list[dict[str, Any]]:
        page = await self.context.new_page()

        async def same_page(route: Route) -> None:
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

        try:
            await page.route(lambda address: address == url, same_page)
            await page.goto(url)
            await page.add_script_tag(path=AXE)
            found: list[dict[str, Any]] = await page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                " resultTypes: ['violations']}).then(result => result.violations)",
                WCAG,
            )
        finally:
            await page.close()
        return found

    async def later(self, seen: Page, step: str) -> None:
        url, html = seen.url, await seen.content()
        self.pending.append((step, url, asyncio.create_task(self._run(url, html))))

    async def verdict(self) -> int:
        """How many pages were checked; fails if any had a violation."""
        report = []
        for step, url, task in self.pending:
            found = await task
            if found:
                report.append(f"axe-core on {step} ({url}):\n{describe(found)}")
        assert not report, "\n\n".join(report)
        return len(self.pending)


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


@dataclass
class Screenshots:
    """Full-page screenshots of a test's steps, numbered in order, in test-output/."""

    prefix: str
    directory: Path = SCREENSHOTS
    taken: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob(f"{self.prefix}-*.png"):
            old.unlink()

    async def take(self, page: Page, step: str) -> Path:
        path = self.directory / f"{self.prefix}-{len(self.taken) + 1:02d}-{step}.png"
        await page.screenshot(path=path, full_page=True)
        assert path.stat().st_size > 0, path
        assert png_size(path)[0] == WIDTH, (path, png_size(path))
        self.taken.append(path)
        print(f"screenshot: {path}")
        return path


async def page_width(page: Page) -> int:
    """How wide the page's content is: more than the viewport means sideways scrolling."""
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width


async def tab_order(page: Page, until: str, presses: int = 60) -> list[str]:
    """Press Tab from the top of the page until the element matching ``until`` has the focus;
    returns a description of each element the focus passed through (fails if never)."""
    passed: list[str] = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        focused = page.locator(":focus")
        if await focused.count() == 0:
            continue
        passed.append(
            await focused.evaluate(
                "e => e.tagName.toLowerCase() + (e.name ? '[name=' + e.name + ']' : '')"
                " + (e.tagName === 'INPUT' ? '[type=' + e.type + ']' : '')"
            )
        )
        if await focused.evaluate("(e, selector) => e.matches(selector)", until):
            return passed
    raise AssertionError(f"Tab never reached {until}; it went through {passed}")
