"""GET /praatmee: the current conversations from the ingested store, readable without an account.

The real app on a real socket, against a real PostgreSQL filled through the real sink."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import asyncpg
import pytest
from web_helpers import BASE, Store, build_app, serve, settings
from web_helpers import pool  # noqa: F401  (fixture)

from ingester.web.app import pick_language
from ingester.web.conversations import CachedConversations, Snapshot
from ingester.web.reply import Destinations


@pytest.fixture
async def store(pool: asyncpg.Pool) -> Store:
    s = Store(pool)
    await s.channel()
    return s


async def fetch(base: str, path: str, **headers: str) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    async with aiohttp.ClientSession() as http:
        async with http.get(base + path, headers=headers, allow_redirects=False) as resp:
            return resp.status, await resp.text(), resp.headers


async def test_the_page_shows_the_live_qa_first_then_the_newest_post_of_each_format(store: Store, pool) -> None:
    await store.post("<p>Oude vraag van de gemeente</p>", ("vraagvandegemeente",), minutes_ago=300)
    await store.post("<p>Nieuwe vraag van de gemeente</p>", ("vraagvandegemeente",), minutes_ago=200)
    await store.post("<p>In de schijnwerpers: Noord</p>", ("innovatorspotlight",), minutes_ago=100)
    await store.post("<p>Live vragenuur over afval</p>", ("qena",), minutes_ago=400)
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        status, html, _ = await fetch(base, "/praatmee")
    assert status == 200
    order = [html.index(t) for t in ("Live vragenuur over afval", "In de schijnwerpers: Noord",
                                     "Nieuwe vraag van de gemeente")]
    assert order == sorted(order)
    assert "Oude vraag van de gemeente" not in html
    assert "Nu live" in html


async def test_a_qa_post_older_than_the_live_window_is_not_live_and_sorts_by_time(store: Store, pool) -> None:
    await store.post("<p>Vragenuur van gisteren</p>", ("qena",), minutes_ago=60 * 30)
    await store.post("<p>Vraag van vandaag</p>", ("vraagvandegemeente",), minutes_ago=10)
    app, _, _ = build_app(pool, settings(live_hours=24))
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee")
    assert html.index("Vraag van vandaag") < html.index("Vragenuur van gisteren")
    assert "Nu live" not in html


async def test_dutch_by_default_english_by_query_and_by_accept_language(store: Store, pool) -> None:
    await store.post("<p>Vraag</p>", ("qena",))
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        _, nl, h_nl = await fetch(base, "/praatmee")
        _, en, h_en = await fetch(base, "/praatmee?lang=en")
        _, en2, _ = await fetch(base, "/praatmee", **{"Accept-Language": "en-GB,en;q=0.9,nl;q=0.5"})
        _, nl2, _ = await fetch(base, "/praatmee?lang=nl", **{"Accept-Language": "en"})
    assert '<html lang="nl">' in nl and "Account aanmaken (2 min)" in nl and "Lees het hele gesprek" in nl
    assert "Heb je al een Mastodon-account? Reageer direct" in nl
    assert '<html lang="en">' in en and "Create an account (2 min)" in en and h_en["Content-Language"] == "en"
    assert '<html lang="en">' in en2
    assert '<html lang="nl">' in nl2 and h_nl["Content-Language"] == "nl"


def test_accept_language_picks_the_best_of_dutch_and_english_by_weight() -> None:
    assert pick_language({}, "de, en;q=0.4, nl;q=0.8") == "nl"
    assert pick_language({}, "fr, en-US") == "en"
    assert pick_language({}, "fr, de") == "nl"
    assert pick_language({}, "en;q=0, nl;q=0") == "nl"
    assert pick_language({"lang": "xx"}, "en") == "en"


async def test_the_configured_name_about_text_and_call_to_action_are_shown(store: Store, pool) -> None:
    app, _, _ = build_app(pool, settings(title="Praatmee Amsterdam", about={"nl": "Het Innovatieteam <zit> erachter.",
                                                                           "en": "The Innovation team."},
                                         cta={"nl": "Stel je vraag!", "en": "Ask us!"}))
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee")
        _, en, _ = await fetch(base, "/praatmee?lang=en")
    assert "<h1>Praatmee Amsterdam</h1>" in html and "@praatmee" in html
    assert "Het Innovatieteam &lt;zit&gt; erachter." in html  # configured text is escaped, never HTML
    assert "Stel je vraag!" in html and "Ask us!" in en and "The Innovation team." in en


async def test_first_replies_come_in_thread_order_with_the_reply_count(store: Store, pool) -> None:
    post = await store.post("<p>Wat vindt u van de nieuwe bomen?</p>", ("qena",))
    a = await store.reply(post, "<p>Antwoord A</p>", who=1, minutes_after=1)
    await store.reply(post, "<p>Antwoord B</p>", who=2, minutes_after=2)
    await store.reply(a, "<p>Reactie op A</p>", who=3, minutes_after=3)
    await store.reply(a, "<p>Dank u, we nemen het mee.</p>", city=True, minutes_after=4)
    app, _, _ = build_app(pool, settings(replies=3))
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee")
    shown = re.findall(r"<p>(Antwoord A|Reactie op A|Dank u, we nemen het mee\.|Antwoord B)</p>", html)
    assert shown == ["Antwoord A", "Reactie op A", "Dank u, we nemen het mee."]  # depth first, oldest first
    assert "4 reacties" in html
    assert f'href="{post.url}"' in html
    assert "@bewoner1@mastodon.example" in html


async def test_direct_and_private_statuses_never_appear(store: Store, pool) -> None:
    post = await store.post("<p>Openbare vraag</p>", ("qena",))
    await store.post("<p>Geheime aankondiging</p>", ("vraagvandegemeente",), visibility="private")
    await store.reply(post, "<p>Openbaar antwoord</p>")
    hidden = await store.reply(post, "<p>Direct bericht aan de gemeente</p>", visibility="direct", who=2)
    await store.reply(hidden, "<p>Onder een direct bericht</p>", who=3)
    await store.reply(post, "<p>Alleen voor volgers</p>", visibility="private", who=4)
    await store.reply(post, "<p>Niet vermeld</p>", visibility="unlisted", who=5)
    app, _, _ = build_app(pool, settings(replies=10))
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee")
    assert "Openbare vraag" in html and "Openbaar antwoord" in html
    for secret in ("Geheime aankondiging", "Direct bericht", "Onder een direct bericht", "Alleen voor volgers",
                   "Niet vermeld"):
        assert secret not in html
    assert "2 reacties" in html  # the public ones only


async def test_hostile_html_in_a_reply_is_neutralised_while_links_and_emoji_stay(store: Store, pool) -> None:
    post = await store.post('<p>Vraag <a href="https://social.amsterdam.example/tags/afval" class="mention hashtag">'
                            '#<span>afval</span></a> 🌳</p>', ("qena",))
    await store.reply(post, '<p>Hoi<script>alert("x")</script><img src="https://tracker.example/p.gif" '
                            'onerror="alert(1)"><a href="javascript:alert(2)">klik</a>'
                            '<style>body{display:none}</style><iframe src="https://evil.example"></iframe>'
                            '<a href="https://mastodon.example/@x" onclick="steal()">@x</a> 🎉</p>')
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee")
    lowered = html.lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "<img", "<iframe", "<style", "tracker.example",
                "evil.example"):
        assert bad not in lowered, bad
    assert "🎉" in html and "🌳" in html
    assert '<a href="https://mastodon.example/@x" rel="nofollow noopener noreferrer ugc">@x</a>' in html
    assert 'class="mention hashtag"' in html


async def test_an_edit_shows_the_new_text_and_a_delete_disappears_within_the_cache_period(store: Store, pool) -> None:
    post = await store.post("<p>Vraag</p>", ("qena",))
    keep = await store.reply(post, "<p>Eerste versie</p>")
    gone = await store.reply(post, "<p>Wordt verwijderd</p>", who=2)
    app, cache, _ = build_app(pool, settings(cache_seconds=0.5))
    async with serve(app) as base:
        _, before, _ = await fetch(base, "/praatmee")
        assert "Wordt verwijderd" in before and "Eerste versie" in before
        await store.delete(gone)
        await store.edit(keep, "<p>Tweede versie</p>")
        deadline = asyncio.get_running_loop().time() + 0.5 + 1.0  # the period, plus one read
        while True:
            _, html, _ = await fetch(base, "/praatmee")
            if "Wordt verwijderd" not in html:
                break
            assert asyncio.get_running_loop().time() < deadline, "deleted reply still shown after the cache period"
            await asyncio.sleep(0.05)
    assert "Tweede versie" in html and "Eerste versie" not in html and "(bewerkt)" in html


async def test_a_reply_whose_text_retention_purged_is_not_shown_but_still_counted(store: Store, pool) -> None:
    post = await store.post("<p>Vraag</p>", ("qena",))
    old = await store.reply(post, "<p>Oude tekst</p>")
    await pool.execute("UPDATE pulse.statuses SET content = NULL, url = NULL, text_purged_at = now() "
                       "WHERE status_id = $1", old.status_id)
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee")
    assert "Oude tekst" not in html and "1 reactie" in html


async def test_the_store_is_read_at_most_once_per_period_whatever_the_traffic(store: Store, pool) -> None:
    await store.post("<p>Vraag</p>", ("qena",))
    app, cache, _ = build_app(pool, settings(cache_seconds=60))
    async with serve(app) as base:
        async with aiohttp.ClientSession() as http:
            async def one() -> int:
                async with http.get(base + "/praatmee") as resp:
                    await resp.read()
                    return resp.status
            statuses = await asyncio.gather(*(one() for _ in range(300)))
    assert set(statuses) == {200}
    assert cache.reads == 1


async def test_an_expired_snapshot_is_served_while_one_background_read_replaces_it() -> None:
    now = 0.0
    reads = 0
    fail = False

    async def load() -> Snapshot:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.05)
        if fail:
            raise OSError("database down")
        return Snapshot(version=reads)

    cache = CachedConversations(load, ttl=5.0, clock=lambda: now)
    assert (await cache.get()).version == 1
    now = 4.9  # within the period: no read
    assert {(await cache.get()).version for _ in range(50)} == {1} and reads == 1
    now = 5.0  # expired: everyone still gets the old snapshot at once, and one read starts
    assert {s.version for s in await asyncio.gather(*(cache.get() for _ in range(50)))} == {1}
    await asyncio.sleep(0.1)
    assert reads == 2 and (await cache.get()).version == 2
    fail, now = True, 10.0  # a failed read keeps the last good snapshot
    await cache.get()
    await asyncio.sleep(0.1)
    assert reads == 3 and (await cache.get()).version == 2 and (await cache.get()).ok
    await cache.close()


async def test_every_response_has_strict_security_headers_and_no_cookie(store: Store, pool) -> None:
    await store.post("<p>Vraag</p>", ("qena",))
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        for path in ("/praatmee", "/praatmee/naar/reageren", "/praatmee/naar/aanmelden", "/healthz",
                     "/praatmee/static/praatmee.css", "/nope"):
            status, _, headers = await fetch(base, path)
            csp = headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
            assert "frame-ancestors 'none'" in csp
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"
            assert "Set-Cookie" not in headers, path
            assert "aiohttp" not in headers.get("Server", ""), path


async def test_the_page_loads_nothing_from_elsewhere_and_stays_under_100_kb_with_long_threads(
    store: Store, pool
) -> None:
    for fmt in ("qena", "innovatorspotlight", "vraagvandegemeente"):
        post = await store.post("<p>" + "Een lange vraag. " * 60 + "</p>", (fmt,))
        for i in range(60):
            await store.reply(post, "<p>" + "Een lange reactie met veel woorden. " * 30 + "</p>", who=i)
    app, _, _ = build_app(pool, settings(replies=5))
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee")
        _, css, _ = await fetch(base, "/praatmee/static/praatmee.css")
    assert len(html.encode()) + len(css.encode()) <= 100 * 1024
    assert not re.search(r'\b(src|srcset|action)="(?!/)', html)  # no third-party resource, no foreign form
    links = re.findall(r'<link[^>]+href="([^"]+)"', html)
    assert links and all(link.startswith("/praatmee/static/") for link in links)  # only our own stylesheet
    assert "<script" not in html and " style=" not in html


async def test_the_signup_button_counts_and_redirects_to_the_configured_sign_up_page(store: Store, pool) -> None:
    app, _, counters = build_app(pool)
    async with serve(app) as base:
        status, _, headers = await fetch(base, "/praatmee/naar/aanmelden?bron=bibliotheek-oost")
    assert status == 302 and headers["Location"] == f"{BASE}/auth/sign_up"
    assert [(k[1], k[2], n) for k, n in counters.pending().items()] == [("bibliotheek-oost", "signup_click", 1)]


async def test_the_page_carries_the_source_into_its_buttons(store: Store, pool) -> None:
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        _, html, _ = await fetch(base, "/praatmee?bron=Bibliotheek-Oost&lang=en")
    assert 'href="/praatmee/naar/aanmelden?lang=en&amp;bron=bibliotheek-oost"' in html
    assert 'href="/praatmee/naar/reageren?lang=en&amp;bron=bibliotheek-oost"' in html


async def test_healthz_answers_ok_and_says_when_the_store_cannot_be_read(pool) -> None:
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        status, body, _ = await fetch(base, "/healthz")
    assert status == 200 and '"store": "ok"' in body
    await pool.close()
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        status, body, _ = await fetch(base, "/healthz")
        _, html, _ = await fetch(base, "/praatmee")
    assert status == 200 and '"store": "unavailable"' in body
    assert "geen gesprekken" in html


async def test_a_mounted_sub_app_gets_the_same_security_headers(pool) -> None:
    from aiohttp import web

    from ingester.web.app import create_app

    keyword = web.Application()

    async def sms(request: web.Request) -> web.Response:
        return web.Response(text="<Response/>", content_type="application/xml")

    keyword.router.add_post("/sms", sms)
    _, cache, counters = build_app(pool)
    app = create_app(settings(), cache, counters, Destinations(), subapps={"/keyword": keyword})
    async with serve(app) as base:
        async with aiohttp.ClientSession() as http:
            async with http.post(base + "/keyword/sms", data={"Body": "PRAATMEE"}) as resp:
                assert resp.status == 200
                assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
                assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_a_city_format_without_a_text_of_its_own_is_shown_under_its_name(store: Store, pool) -> None:
    from ingester.formats import DEFAULT_FORMATS, apply_formats_async

    async with pool.acquire() as conn:  # PULSE_FORMATS with the city's own "buurt" format
        await apply_formats_async(conn, (*DEFAULT_FORMATS, ("buurtvraag", "buurt")))
    await store.post("<p>Wat speelt er in uw buurt?</p>", ("buurtvraag",))
    app, _, _ = build_app(pool, settings(formats=("qa", "buurt")))
    async with serve(app) as base:
        status, html, _ = await fetch(base, "/praatmee")
    assert status == 200 and "Wat speelt er in uw buurt?" in html
    assert '<span class="badge">buurt</span>' in html
