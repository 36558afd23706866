"""The creator page in a real browser (headless Chromium) against ``make run``'s stack.

Debian's ``chromium`` (``make system-deps``) driven by Playwright's Python package: Playwright's own
browser download needs the network, the Debian build does not. The screenshot it writes
(``build/creator-page.png``) is the one the README shows.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import requests

from tests.support.paths import REPO_ROOT
from tests.support.stack import RunningStack

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = REPO_ROOT / "build" / "creator-page.png"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file() and shutil.which("chromium") is None, reason="chromium missing: run `make system-deps`"
)


def _wait_for_catalog(http: requests.Session, url: str, topic: str, timeout: float = 300) -> None:
    """The seed runs in the background and the stream scorer follows it: wait for the topic's videos."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = http.get(f"{url}/candidates", params={"topic": topic, "limit": 5}, timeout=30).json().get("items", [])
        if len(items) >= 3:
            return
        time.sleep(2)
    pytest.fail(f"the catalog never had 3 {topic} videos")


def test_page_gives_ideas_and_scores_a_title(running_stack: RunningStack, http: requests.Session) -> None:
    from playwright.sync_api import expect, sync_playwright

    _wait_for_catalog(http, running_stack.url, "minecraft")
    console_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            # A phone's width, in a time zone other than UTC so the local posting time is checked.
            page = browser.new_page(viewport={"width": 420, "height": 900}, timezone_id="America/New_York")
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{running_stack.url}/")
            expect(page.get_by_role("heading", name="Miles", exact=True)).to_be_visible()

            page.get_by_label("Topic").fill("minecraft")
            page.get_by_role("button", name="Get ideas").click()  # no key yet: says so in words
            expect(page.locator("#ideas-status")).to_have_text("Enter your API key first.")

            page.get_by_label("Your Miles API key").fill(running_stack.api_key)
            page.get_by_label("Your Miles API key").press("Enter")  # keyboard only
            expect(page.locator("#key-status")).to_have_text("Key saved for this tab.")

            page.get_by_label("Topic").fill("minecraft")
            page.get_by_label("Vibe").select_option("hype")
            page.get_by_role("button", name="Get ideas").click()
            cards = page.locator("#ideas li.card")
            expect(cards.first).to_be_visible(timeout=120_000)
            assert cards.count() >= 3
            assert "How to Minecraft in" not in page.locator("#ideas").inner_text()
            first = cards.first
            # Each idea: a reason from the explanation, the best weekday + hour (local time, UTC noted) and
            # its title wordings ranked by the model, the card's title being the best.
            expect(first.locator(".why")).to_have_text(re.compile(r"^Why: .+ (lifts?|holds) it"))
            best_time = first.locator(".best-time")
            expect(best_time).to_have_text(re.compile(r"^Best time: \w+ \d\d:\d\d your time \(\w+day \d\d:00 UTC\)$"))
            local, utc = re.findall(r"(\d\d):(\d\d)", best_time.inner_text())
            # The page runs in New York time (UTC-5 in winter, UTC-4 in summer): local is UTC shifted.
            assert (int(utc[0]) - int(local[0])) % 24 in (4, 5), best_time.inner_text()
            variants = first.get_by_role("list", name="Title variants, best first").locator("li")
            assert 2 <= variants.count() <= 3
            assert first.locator("h3").inner_text().split(". ", 1)[1] in variants.first.inner_text()
            links = page.locator("#inspired a")
            assert links.count() >= 3
            assert all(
                (links.nth(i).get_attribute("href") or "").startswith("https://www.youtube.com/watch?v=")
                for i in range(links.count())
            )

            page.get_by_label("Your title", exact=True).fill("I built the biggest Minecraft castle in 24 hours")
            page.get_by_label("Other titles to compare").fill(
                "Minecraft castle in 24 hours\n\n24 hours to build a castle"
            )
            page.get_by_role("button", name="Score title").click()
            expect(page.locator("#score-result .card .meter").first).to_be_visible(timeout=60_000)
            ranked = page.get_by_role("list", name="Your titles, best first").locator("li")
            expect(ranked).to_have_count(3)  # the title and both variants (the blank line is not one)
            expect(ranked.first).to_contain_text("(best)")
            expect(page.locator("#score-result .why")).to_have_text(re.compile(r"^Why: "))
            # The score, the breakout chance and the velocity each say what they mean, the score first.
            meanings = page.locator("#score-result .meaning")
            expect(meanings.first).to_be_visible()
            expect(page.locator("#score-result .meaning", has_text="at least 2.3x")).to_have_count(1)
            expect(page.locator("#score-result .meaning", has_text="not what your channel will get")).to_have_count(1)

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
    assert console_errors == []  # no CSP violation, no script error
