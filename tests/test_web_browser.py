"""The entry page in a real browser (Debian's chromium, headless, driven by Playwright): it renders the
current conversation without an account in Dutch and English, its two routes lead where they should, it
reflows at 320 px, and axe-core finds no serious or critical accessibility violation.

Screenshots at 320 px and 1280 px go to out/test-artifacts/. Nothing leaves 127.0.0.1: the Mastodon
pages the buttons lead to are answered by Playwright's request interception, the WebFinger look-up by a
local stand-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
from playwright.async_api import Browser, Page, Route, async_playwright
from web_helpers import BASE, StaticResolver, Store, WebFingerStandIn, build_app, port_of, serve, settings

from ingester.report.browser import chromium
from ingester.simulator.scenario import OPENING_POSTS, REPLIES
from ingester.web.reply import Destinations

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "out" / "test-artifacts"
AXE = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = chromium()  # the same lookup the report uses (Debian's path, else the PATH)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[tuple[str, str]]:
    """The real app on a real socket, the simulator's opening posts and replies in the store (written
    through the real sink), and a WebFinger stand-in for social.example. Yields (base URL, Q&A post URL)."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    store = Store(pool)
    await store.channel()
    posts = [await store.post(f"<p>{text}</p>", tags, minutes_ago=90 - 20 * i)
             for i, (text, tags) in enumerate(OPENING_POSTS)]
    qa = posts[1]  # "Vanmiddag om 15:00 beantwoorden wij al uw vragen …" (#qena): the live one
    first = await store.reply(qa, f"<p>{REPLIES[1]}</p>", who=1)
    await store.reply(first, "<p>Dank voor uw reactie, we nemen het mee.</p>", city=True, minutes_after=3)
    await store.reply(posts[0], f"<p>{REPLIES[0]}</p>", who=2)
    wf = WebFingerStandIn(users={"alice@social.example"})
    async with serve(wf.app()) as wf_base:
        dest = Destinations(2.0, resolver=StaticResolver({"social.example": "127.0.0.1"}), scheme="http",
                            port=port_of(wf_base))
        app, _, _ = build_app(pool, destinations=dest)
        async with serve(app) as base:
            yield base, qa.url or ""
    await pool.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def open_page(browser: Browser, width: int, base: str) -> tuple[Page, list[str], list[str]]:
    """A fresh page (no cookies, no storage) recording every request and console error; requests outside
    the test's own origin are answered here instead of reaching the network."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="nl-NL")
    page = await context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    async def elsewhere(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>elders</title>")

    await context.route(lambda url: not url.startswith(base), elsewhere)
    return page, requests, errors


async def axe(page: Page) -> list[dict[str, Any]]:
    # evaluate() runs in the page through DevTools, so the page's strict CSP stays as it is
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate("""async () => await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})""")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def test_the_page_shows_the_current_conversation_without_an_account_in_dutch_and_english(
    site: tuple[str, str], browser: Browser
) -> None:
    base, qa_url = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (320, 1280):
        page, requests, errors = await open_page(browser, width, base)
        await page.goto(base + "/praatmee?bron=bibliotheek-oost")
        assert await page.get_attribute("html", "lang") == "nl"
        assert await page.inner_text("h1") == "Praat mee met de gemeente"
        first = page.locator("article").first
        assert "Vanmiddag om 15:00 beantwoorden wij al uw vragen" in await first.inner_text()
        assert REPLIES[1] in await first.inner_text() and "Nu live" in await first.inner_text()
        assert await first.get_by_role("link", name="Lees het hele gesprek").get_attribute("href") == qa_url
        assert await page.get_by_role("link", name="Account aanmaken (2 min)").is_visible()
        # reflows: nothing wider than the window, so no sideways scrolling on a 320 px phone
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        # the stylesheet applied under the strict CSP (no inline style needed)
        assert await page.evaluate("getComputedStyle(document.querySelector('.button')).color") == "rgb(255, 255, 255)"
        await page.screenshot(path=str(ARTIFACTS / f"praatmee-nl-{width}.png"), full_page=True)
        assert all(u.startswith(base) for u in requests), requests
        assert errors == [] and await page.context.cookies() == []
        await page.context.close()
    page, _, _ = await open_page(browser, 1280, base)
    await page.goto(base + "/praatmee?lang=en")
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.get_by_role("link", name="Create an account (2 min)").is_visible()
    assert "Read the whole conversation" in await page.locator("article").first.inner_text()
    await page.screenshot(path=str(ARTIFACTS / "praatmee-en-1280.png"), full_page=True)
    await page.context.close()


async def test_the_sign_up_button_leads_to_the_sign_up_page(site: tuple[str, str], browser: Browser) -> None:
    base, _ = site
    page, _, _ = await open_page(browser, 1280, base)
    await page.goto(base + "/praatmee?bron=tram-5")
    await page.get_by_role("link", name="Account aanmaken (2 min)").click()
    await page.wait_for_url(f"{BASE}/auth/sign_up")
    await page.context.close()


async def test_the_reply_form_sends_a_handle_to_its_own_server_by_keyboard_alone(
    site: tuple[str, str], browser: Browser
) -> None:
    base, qa_url = site
    page, _, _ = await open_page(browser, 320, base)
    await page.goto(base + "/praatmee")
    await page.get_by_role("link", name="Heb je al een Mastodon-account? Reageer direct").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/praatmee/naar/reageren")
    await page.screenshot(path=str(ARTIFACTS / "reageren-nl-320.png"), full_page=True)
    await page.get_by_label("Jouw server of account").focus()
    await page.keyboard.type("@alice@social.example")
    target = f"https://social.example/authorize_interaction?uri={quote(qa_url, safe='')}"
    # the browser follows the 302 to the resident's own server (which does not exist here)
    async with page.expect_request(lambda r: r.url.startswith("https://social.example/")) as sent:
        await page.keyboard.press("Enter")
    assert (await sent.value).url == target
    await page.context.close()


async def test_a_server_that_cannot_be_reached_is_explained_on_the_form(site: tuple[str, str], browser: Browser
                                                                         ) -> None:
    base, _ = site
    page, _, _ = await open_page(browser, 1280, base)
    await page.goto(base + "/praatmee/naar/reageren?lang=en")
    await page.get_by_label("Your server or account").fill("@bob@unknown-host.example")
    await page.get_by_role("button", name="Continue").click()
    assert "We could not reach the server unknown-host.example" in await page.inner_text("main")
    assert await page.get_attribute("#account", "aria-invalid") == "true"
    await page.screenshot(path=str(ARTIFACTS / "reageren-error-en-1280.png"), full_page=True)
    serious = await axe(page)
    assert serious == [], json.dumps(serious, indent=1)[:4000]
    await page.context.close()


@pytest.mark.parametrize("path", ["/praatmee", "/praatmee?lang=en", "/praatmee/naar/reageren"])
async def test_axe_finds_no_serious_or_critical_violation(site: tuple[str, str], browser: Browser, path: str
                                                           ) -> None:
    base, _ = site
    for width in (320, 1280):
        page, _, _ = await open_page(browser, width, base)
        await page.goto(base + path)
        serious = await axe(page)
        assert serious == [], json.dumps(serious, indent=1)[:4000]
        await page.context.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_page_shows_the_simulators_conversation_as_the_real_ingester_stored_it(
    database_url: str, salt: str, tmp_path: Path, browser: Browser
) -> None:
    """The simulator (real REST + WebSocket) -> `ingester run` (a real process) -> PostgreSQL -> the page."""
    from e2e import Ingester, converge, ingester_env, wait_for

    from ingester.simulator import RateLimits, SimConfig, Simulator
    from ingester.simulator import Scenario as SimScenario

    config = SimConfig(rate_limits=RateLimits(api_limit=1_000_000, paging_limit=1_000_000), seed=5)
    async with Simulator(config) as sim:
        ingester = Ingester(ingester_env(database_url, sim, salt), tmp_path / "ingester.log")
        await ingester.start()
        try:
            assert await wait_for(lambda: sim.progress()["open_sockets"] >= 1, 30), ingester.output()
            truth = await sim.start_scenario(SimScenario(events=150, rate=150, seed=5, delete_share=0.0))
            await converge(database_url, truth, timeout=60)
        finally:
            await ingester.stop()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        replies = await pool.fetchval("SELECT count(*) FROM pulse.statuses WHERE relation <> 'own_post' "
                                      "AND thread_root_id IS NOT NULL AND visibility = 'public'")
        app, _, _ = build_app(pool, settings(channel="main", mastodon_base_url=None))  # the simulator's channel
        async with serve(app) as base:
            page, requests, _ = await open_page(browser, 1280, base)
            await page.goto(base + "/praatmee")
            text = await page.inner_text("main")
            await page.screenshot(path=str(ARTIFACTS / "praatmee-simulator-1280.png"), full_page=True)
            await page.context.close()
    finally:
        await pool.close()
    for opening, _ in OPENING_POSTS:  # one conversation per format: Q&A (live), spotlight, city question
        assert opening in text
    assert replies > 0 and any(r in text for r in REPLIES)
    assert "Nu live" in text and all(u.startswith(base) for u in requests)
