"""The aiohttp application: GET /praatmee, the two click-through routes, /healthz and the stylesheet.

`create_app` receives every dependency (settings slice, conversation cache, counters, reply
destinations), so tests run the real app over a real socket against a real database and a local
WebFinger stand-in. No cookies, no JavaScript, no third-party request; strict security headers on
every response (also errors). Nothing about a visitor is logged or stored: the service runs without
an access log and the handlers pass only `?bron=` to the counters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from ingester import i18n
from ingester.formats import format_label
from ingester.i18n import Language
from ingester.web.config import WebSettings
from ingester.web.conversations import Conversation, Snapshot
from ingester.web.counters import DIRECT, EntryCounters
from ingester.web.reply import Destinations, LookupFailed, parse_target
from ingester.web.texts import TEXTS

PAGE = "/praatmee"
SIGNUP = "/praatmee/naar/aanmelden"
REPLY = "/praatmee/naar/reageren"
FALLBACK_SIGNUP = "https://joinmastodon.org/servers"

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
       # form-action also governs where the form's redirect may go: the resident's own server (https)
       "form-action 'self' https:")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Strict-Transport-Security": "max-age=31536000",
}

class Conversations(Protocol):
    async def get(self) -> Snapshot: ...


def pick_language(query: Mapping[str, str], accept: str | None) -> Language:
    """`?lang=` wins; else the best of nl/en in Accept-Language by q-value; else Dutch."""
    asked = query.get("lang", "").strip().lower()
    if asked in i18n.LANGUAGES:
        return asked  # type: ignore[return-value]
    best: tuple[float, int, Language] | None = None
    for pos, part in enumerate((accept or "")[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        if code not in i18n.LANGUAGES:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if q > 0 and (best is None or (q, -pos) > (best[0], best[1])):
            best = (q, -pos, code)  # type: ignore[assignment]
    return best[2] if best else i18n.DEFAULT_LANGUAGE


def post_id(value: str | None) -> str | None:
    """A Mastodon status id from the query or form (digits only), or None."""
    return value if value and value.isdigit() and len(value) <= 30 else None


def found(url: str) -> web.Response:
    """302 to `url` exactly as given (HTTPFound would re-normalise it and decode `%3A` in the query)."""
    return web.Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})


class _Pages:
    """Renders and caches the pages; one rendering per snapshot, language and source."""

    def __init__(self, settings: WebSettings, conversations: Conversations, counters: EntryCounters,
                 destinations: Destinations) -> None:
        self.s, self.conversations, self.counters, self.destinations = settings, conversations, counters, destinations
        self.tz = ZoneInfo(settings.timezone)
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("ingester.web", "templates"),
                                      autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.css = (resources.files("ingester.web") / "static" / "praatmee.css").read_bytes()
        self.css_etag = hashlib.sha256(self.css).hexdigest()[:16]
        self.css_url = f"{PAGE}/static/praatmee.css?v={self.css_etag}"
        self._rendered: dict[tuple[Language, str], bytes] = {}  # (language, source) -> page of snapshot _version
        self._version: int | None = None

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def query(lang: Language, source: str, **extra: str) -> str:
        params = {**({"lang": lang} if lang != i18n.DEFAULT_LANGUAGE else {}),
                  **({"bron": source} if source != DIRECT else {}), **extra}
        return ("?" + urlencode(params)) if params else ""

    def common(self, lang: Language, source: str, **extra: str) -> dict[str, Any]:
        other: Language = "en" if lang == "nl" else "nl"
        return {
            "lang": lang, "other_lang": other, "css_url": self.css_url,
            "t": lambda key, **kw: TEXTS.text(lang, key, **kw),
            "other_language_url": PAGE + self.query(other, source, **extra),
            "cta": self.s.cta[lang] or TEXTS.text(lang, "cta"),  # also the page's meta description
        }

    def render(self, template: str, **context: Any) -> bytes:
        return self.env.get_template(template).render(**context).encode("utf-8")

    @staticmethod
    def html(body: bytes, lang: Language, status: int = 200) -> web.Response:
        return web.Response(body=body, status=status, content_type="text/html", charset="utf-8", headers={
            "Cache-Control": "no-store", "Content-Language": lang, "Vary": "Accept-Language"})

    # -- handlers ---------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        lang = pick_language(request.query, request.headers.get("Accept-Language"))
        raw = request.query.get("bron")
        self.counters.add("page_view", raw or DIRECT)
        source = self.counters.source(raw)
        snap = await self.conversations.get()
        if snap.version != self._version:  # a new snapshot: the old renderings are stale
            self._rendered, self._version = {}, snap.version
        body = self._rendered.get((lang, source))
        if body is None:
            body = self._rendered[(lang, source)] = self.render_page(snap, lang, source)
        return self.html(body, lang)

    def render_page(self, snap: Snapshot, lang: Language, source: str) -> bytes:
        title = self.s.title or TEXTS.text(lang, "title")

        def replies_text(n: int) -> str:
            return TEXTS.text(lang, "replies_one") if n == 1 else TEXTS.text(
                lang, "replies_many", count=i18n.number(n, lang))

        def badge(c: Conversation) -> str:
            return TEXTS.text(lang, "live") if c.live else format_label(c.format, lang)

        return self.render(
            "page.html", **self.common(lang, source), page_title=title, title=title,
            channel_acct=snap.channel_acct, about=self.s.about[lang] or TEXTS.text(lang, "about"),
            conversations=snap.conversations,
            signup_url=SIGNUP + self.query(lang, source), reply_url=REPLY + self.query(lang, source),
            reply_url_for=lambda pid: REPLY + self.query(lang, source, post=pid),
            when=lambda dt: i18n.moment(dt.astimezone(self.tz), lang), replies_text=replies_text, badge=badge)

    async def signup(self, request: web.Request) -> web.Response:
        self.counters.add("signup_click", request.query.get("bron") or DIRECT)
        return found(self.s.signup_url or FALLBACK_SIGNUP)

    def reply_page(self, lang: Language, source: str, post_id: str | None, account: str = "",
                   error: str | None = None, status: int = 200) -> web.Response:
        body = self.render(
            "reply.html", **self.common(lang, source), page_title=TEXTS.text(lang, "reply_title"),
            action=REPLY, source=source if source != DIRECT else "", post_id=post_id or "", account=account,
            error=error, back_url=PAGE + self.query(lang, source))
        return self.html(body, lang, status)

    async def reply_form(self, request: web.Request) -> web.Response:
        lang = pick_language(request.query, request.headers.get("Accept-Language"))
        return self.reply_page(lang, self.counters.source(request.query.get("bron")),
                               post_id(request.query.get("post")))

    async def reply_submit(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        lang = pick_language(fields, request.headers.get("Accept-Language"))
        raw_source = fields.get("bron") or None
        source = self.counters.source(raw_source)
        post = post_id(fields.get("post"))
        account = fields.get("account", "")[:300]
        target = parse_target(account)
        if target is None:
            return self.reply_page(lang, source, post, account, TEXTS.text(lang, "err_invalid"), 400)
        snap = await self.conversations.get()
        conv = snap.post(post) or snap.post(None)
        uri = conv.url if conv and conv.url else self.channel_url(snap)
        if uri is None:
            return self.reply_page(lang, source, post, account, TEXTS.text(lang, "err_no_post"), 503)
        try:
            url = await self.destinations.destination(target, uri)
        except LookupFailed as exc:
            key = {"forbidden": "err_forbidden", "no_template": "err_no_template"}.get(exc.reason, "err_unreachable")
            status = 400 if exc.reason in ("invalid", "forbidden") else 502
            return self.reply_page(lang, source, post, account, TEXTS.text(lang, key, host=exc.host), status)
        self.counters.add("reply_click", raw_source or DIRECT)
        return found(url)

    def channel_url(self, snap: Snapshot) -> str | None:
        if snap.channel_acct and self.s.mastodon_base_url:
            return f"{self.s.mastodon_base_url}/@{snap.channel_acct.split('@')[0]}"
        return None

    async def stylesheet(self, request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == f'"{self.css_etag}"':
            return web.Response(status=304, headers={"ETag": f'"{self.css_etag}"'})
        return web.Response(body=self.css, content_type="text/css", charset="utf-8", headers={
            "Cache-Control": "public, max-age=86400", "ETag": f'"{self.css_etag}"'})

    async def healthz(self, request: web.Request) -> web.Response:
        snap = await self.conversations.get()
        return web.json_response({"status": "ok", "store": "ok" if snap.ok else "unavailable"},
                                 headers={"Cache-Control": "no-store"})


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = "praatmee"
    response.headers.popall("Set-Cookie", None)  # belt and braces: this service never sets one


def create_app(settings: WebSettings, conversations: Conversations, counters: EntryCounters,
               destinations: Destinations, *, subapps: Mapping[str, web.Application] | None = None
               ) -> web.Application:
    """The web service. `subapps` are mounted by prefix (e.g. {"/keyword": keyword_app(...)}) and get
    the same security headers."""
    pages = _Pages(settings, conversations, counters, destinations)
    app = web.Application(client_max_size=16 * 1024)  # the only body is a short form
    app.router.add_get(PAGE, pages.page)
    app.router.add_get(PAGE + "/", pages.page)
    app.router.add_get(SIGNUP, pages.signup)
    app.router.add_get(REPLY, pages.reply_form)
    app.router.add_post(REPLY, pages.reply_submit)
    app.router.add_get(PAGE + "/static/praatmee.css", pages.stylesheet)
    app.router.add_get("/healthz", pages.healthz)
    for prefix, sub in (subapps or {}).items():
        app.add_subapp(prefix, sub)
    app.on_response_prepare.append(_security_headers)

    async def _close(_: web.Application) -> None:
        await destinations.close()

    app.on_cleanup.append(_close)
    return app
