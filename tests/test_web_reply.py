"""'Reageer direct': only a server name or a handle is accepted; a handle is resolved by WebFinger on its
own host (a local stand-in here, speaking RFC 7033 as Mastodon does); nothing internal is ever reached."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from web_helpers import StaticResolver, Store, WebFingerStandIn, build_app, port_of, serve
from web_helpers import pool  # noqa: F401  (fixture)

from ingester.web.reply import Destinations, PublicOnlyResolver, Target, parse_host, parse_target


@pytest.fixture
async def post_url(pool: asyncpg.Pool) -> str:
    s = Store(pool)
    await s.channel()
    post = await s.post("<p>Vragenuur</p>", ("qena",))
    return post.url or ""


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[WebFingerStandIn, int]]:
    wf = WebFingerStandIn(users={"alice@social.example"})
    async with serve(wf.app()) as base:
        yield wf, port_of(base)


def local(port: int, *, guarded: bool = False, timeout: float = 2.0) -> Destinations:
    """Destinations whose every name resolves to the stand-in on 127.0.0.1 (plain http, its port)."""
    resolver = StaticResolver({"social.example": "127.0.0.1", "other.example": "127.0.0.1"})
    return Destinations(timeout, resolver=PublicOnlyResolver(resolver) if guarded else resolver, scheme="http",
                        port=port)


async def submit(base: str, account: str, **extra: str) -> tuple[int, str, str | None]:
    async with aiohttp.ClientSession() as http:
        async with http.post(base + "/praatmee/naar/reageren", data={"account": account, **extra},
                             allow_redirects=False) as resp:
            return resp.status, await resp.text(), resp.headers.get("Location")


@pytest.mark.parametrize("text,expected", [
    ("mastodon.social", Target("mastodon.social")),
    ("  Mastodon.Social ", Target("mastodon.social")),
    ("https://mastodon.social/", Target("mastodon.social")),
    ("@alice@social.example", Target("social.example", "alice")),
    ("alice@social.example", Target("social.example", "alice")),
    ("@Alice_1@xn--mstdn-kva.nl", Target("xn--mstdn-kva.nl", "Alice_1")),
    ("bücher.example", Target("xn--bcher-kva.example")),
])
def test_a_server_name_or_a_handle_is_accepted(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", [
    "", "mastodon", "https://evil.example/phish", "mastodon.social:8443", "//evil.example", "127.0.0.1",
    "10.0.0.8", "[::1]", "localhost", "printer.local", "db.internal", "router.home.arpa",
    "javascript:alert(1)", "alice@", "@alice", "a b.example", "alice@bob@social.example/x",
    "https://user:pw@social.example", "social.example?x=1", "social.example#x", "-bad.example", "x" * 300,
])
def test_anything_but_a_public_server_name_or_handle_is_refused(text: str) -> None:
    assert parse_target(text) is None


def test_ip_literals_never_pass_as_host_names() -> None:
    assert parse_host("192.168.1.1") is None and parse_host("2130706433") is None and parse_host("::1") is None


async def test_a_handle_is_resolved_by_webfinger_to_its_servers_subscribe_template(pool, post_url, stand_in) -> None:
    wf, port = stand_in
    app, _, counters = build_app(pool, destinations=local(port))
    async with serve(app) as base:
        status, _, location = await submit(base, "@alice@social.example", bron="bibliotheek-oost")
    assert status == 302
    assert location == f"https://social.example/authorize_interaction?uri={quote(post_url, safe='')}"
    assert wf.requests == ["/.well-known/webfinger?resource=acct:alice@social.example"]
    assert [(k[1], k[2], n) for k, n in counters.pending().items()] == [("bibliotheek-oost", "reply_click", 1)]


async def test_a_bare_server_is_sent_to_its_authorize_interaction_page(pool, post_url, stand_in) -> None:
    wf, port = stand_in
    app, _, _ = build_app(pool, destinations=local(port))
    async with serve(app) as base:
        status, _, location = await submit(base, "social.example")
    assert status == 302
    assert location == f"https://social.example/authorize_interaction?uri={quote(post_url, safe='')}"


async def test_the_production_guard_refuses_names_that_resolve_to_loopback(pool, post_url, stand_in) -> None:
    wf, port = stand_in
    app, _, counters = build_app(pool, destinations=local(port, guarded=True))
    async with serve(app) as base:
        status, html, location = await submit(base, "@alice@social.example")
        status2, _, _ = await submit(base, "social.example")
    assert status == 400 and status2 == 400 and location is None
    assert "Dit adres kunnen we niet gebruiken" in html
    assert wf.requests == []  # nothing ever reached the loopback stand-in
    assert counters.pending() == {}


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254",
                                     "100.64.0.1", "::1", "fd00::1", "fe80::1", "0.0.0.0"])
async def test_the_guard_passes_no_internal_address(address: str) -> None:
    guard = PublicOnlyResolver(StaticResolver({"x.example": address}))
    with pytest.raises(OSError):
        await guard.resolve("x.example", 443)


async def test_the_guard_passes_public_addresses() -> None:
    guard = PublicOnlyResolver(StaticResolver({"x.example": "93.184.215.14"}))
    assert (await guard.resolve("x.example", 443))[0]["host"] == "93.184.215.14"


async def test_an_unreachable_server_gets_a_clear_message_in_dutch_and_english(pool, post_url) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    app, _, _ = build_app(pool, destinations=local(closed))
    async with serve(app) as base:
        status, html, _ = await submit(base, "@alice@social.example")
        _, html_en, _ = await submit(base, "@alice@social.example", lang="en")
    assert status == 502
    assert "We konden de server social.example niet bereiken" in html
    assert "We could not reach the server social.example" in html_en
    assert 'value="@alice@social.example"' in html and 'aria-invalid="true"' in html


async def test_a_slow_server_is_given_up_on_within_the_look_up_limit(pool, post_url) -> None:
    wf = WebFingerStandIn(users={"alice@social.example"}, delay=10)
    async with serve(wf.app()) as wf_base:
        app, _, _ = build_app(pool, destinations=local(port_of(wf_base), timeout=0.5))
        async with serve(app) as base:
            started = time.monotonic()
            status, html, _ = await submit(base, "@alice@social.example")
            took = time.monotonic() - started
    assert status == 502 and took < 2.0 and "niet bereiken" in html


async def test_an_unknown_handle_or_a_template_that_is_not_https_gives_no_redirect(pool, post_url) -> None:
    wf = WebFingerStandIn(users={"alice@social.example"}, template="javascript:alert('{{uri}}')")
    async with serve(wf.app()) as wf_base:
        app, _, _ = build_app(pool, destinations=local(port_of(wf_base)))
        async with serve(app) as base:
            status, html, location = await submit(base, "@alice@social.example")
            status2, _, location2 = await submit(base, "@bob@social.example")
    assert (status, location) == (502, None) and (status2, location2) == (502, None)
    assert "vertelt niet hoe je vanaf daar kunt reageren" in html


async def test_a_webfinger_redirect_to_an_internal_address_is_not_followed(pool, post_url) -> None:
    hits: list[str] = []

    async def redirect(request: web.Request) -> web.Response:
        hits.append(request.path)
        raise web.HTTPFound("http://127.0.0.1:9/.well-known/webfinger")

    bouncer = web.Application()
    bouncer.router.add_get("/.well-known/webfinger", redirect)
    async with serve(bouncer) as b_base:
        app, _, _ = build_app(pool, destinations=local(port_of(b_base)))
        async with serve(app) as base:
            status, html, location = await submit(base, "@alice@social.example")
    assert hits == ["/.well-known/webfinger"] and location is None and status == 400


async def test_a_malformed_entry_shows_the_form_again_with_the_hint(pool, post_url) -> None:
    app, _, counters = build_app(pool)
    async with serve(app) as base:
        status, html, location = await submit(base, "https://evil.example/login")
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/praatmee/naar/reageren?lang=en") as resp:
                form = await resp.text()
    assert status == 400 and location is None and "Vul een servernaam in" in html
    assert counters.pending() == {}
    assert '<label for="account">Your server or account</label>' in form and 'method="post"' in form


async def test_an_oversized_form_is_refused(pool, post_url) -> None:
    app, _, _ = build_app(pool)
    async with serve(app) as base:
        status, _, _ = await submit(base, "a" * 40_000)
    assert status == 413
