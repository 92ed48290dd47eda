"""The HTTP shell: `keyword_app(...)` → an aiohttp application with `POST /sms`, `GET`/`POST /whatsapp`.

Each handler does, in this order: bound the body (413), verify the provider's signature over exactly
what arrived (403), parse (400), decide (`memory.Desk`), count, answer. An endpoint whose settings are
missing is not registered, so it answers 404.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from ingester.keyword import twilio, whatsapp
from ingester.keyword.config import Counter, KeywordSettings, sms_enabled, whatsapp_enabled
from ingester.keyword.graph import DEFAULT_RETRY, GraphSender, Outbox, RetryPolicy
from ingester.keyword.memory import Clock, Decision, Desk, Inbound

log = structlog.get_logger("ingester.keyword")

SMS_MAX_BYTES = 64 * 1024  # a Twilio SMS webhook is ~1 KB; Body is at most 1,600 characters
WHATSAPP_MAX_BYTES = 3 * 1024 * 1024  # Meta documents webhook payloads of up to 3 MB

OUTBOX: web.AppKey[Outbox] = web.AppKey("keyword_outbox", Outbox)


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it exceeds `limit`: declared or streamed."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length, text="body too large\n")
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body), text="body too large\n")
    return bytes(body)


class _Handlers:
    def __init__(self, settings: KeywordSettings, counter: Counter, desk: Desk, outbox: Outbox) -> None:
        self.s, self.counter, self.desk, self.outbox = settings, counter, desk, outbox
        self.sender: GraphSender | None = None  # made at startup: it needs the running loop's session

    def _decide(self, msg: Inbound) -> Decision:
        decision = self.desk.handle(msg)
        if decision.counted:
            try:
                self.counter.add(f"keyword_{msg.channel}", msg.channel)
            except Exception as exc:  # noqa: BLE001 - a counting fault must not cost the resident their answer
                log.warning("keyword.count_failed", channel=msg.channel, error=type(exc).__name__)
        log.info("keyword.message", channel=msg.channel, intent=decision.intent.value, outcome=decision.outcome)
        return decision

    async def sms(self, request: web.Request) -> web.Response:
        body = await _read_bounded(request, SMS_MAX_BYTES)
        if request.content_type != "application/x-www-form-urlencoded":
            return _plain(415, "expected application/x-www-form-urlencoded")
        try:
            params = twilio.parse_form(body)
        except twilio.FormError as exc:
            return _plain(400, str(exc))
        assert self.s.public_url and self.s.twilio_auth_token  # sms_enabled() checked at setup
        # The URL Twilio requested, as the public sees it: the proxy in front may rewrite host and scheme.
        url = self.s.public_url.rstrip("/") + request.raw_path
        token = self.s.twilio_auth_token.get_secret_value()
        if not twilio.valid(token, url, params, request.headers.get("X-Twilio-Signature")):
            log.warning("keyword.bad_signature", channel="sms")
            return _plain(403, "signature mismatch")
        fields = dict(params)
        sender = fields.get("From", "")
        if not sender:
            return _plain(400, "no From")
        sid = fields.get("MessageSid") or fields.get("SmsSid") or None
        decision = self._decide(Inbound("sms", sender, sid, fields.get("Body", "")))
        return web.Response(body=twilio.twiml(decision.reply), content_type="text/xml", charset="utf-8")

    async def whatsapp_handshake(self, request: web.Request) -> web.Response:
        assert self.s.whatsapp_verify_token
        challenge = whatsapp.handshake(request.query, self.s.whatsapp_verify_token.get_secret_value())
        if challenge is None:
            log.warning("keyword.handshake_refused", channel="whatsapp")
            return _plain(403, "verification refused")
        return web.Response(text=challenge, content_type="text/plain", headers={"X-Content-Type-Options": "nosniff"})

    async def whatsapp_webhook(self, request: web.Request) -> web.Response:
        body = await _read_bounded(request, WHATSAPP_MAX_BYTES)
        assert self.s.whatsapp_app_secret and self.s.whatsapp_phone_number_id
        if not whatsapp.valid(
            self.s.whatsapp_app_secret.get_secret_value(), body, request.headers.get("X-Hub-Signature-256")
        ):
            log.warning("keyword.bad_signature", channel="whatsapp")
            return _plain(403, "signature mismatch")
        try:
            payload: Any = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return _plain(400, "broken JSON")
        assert self.sender is not None
        for msg in whatsapp.messages(payload, self.s.whatsapp_phone_number_id):
            decision = self._decide(msg)
            if decision.reply:
                self.outbox.submit(self.sender.send(msg.sender, decision.reply))
        return _plain(200, "ok")  # statuses and anything we do not answer: acknowledged, so Meta does not retry


def keyword_app(
    settings: KeywordSettings,
    counter: Counter,
    *,
    clock: Clock = time.monotonic,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> web.Application:
    """The keyword endpoints as an aiohttp application, to be mounted at `/keyword`.

    `clock` drives the rate limit and replay windows (monotonic seconds); `retry` the Graph API send policy.
    """
    app = web.Application()
    desk = Desk(settings.entry_url or "", settings.language, clock)
    outbox = Outbox()
    handlers = _Handlers(settings, counter, desk, outbox)
    app[OUTBOX] = outbox  # tests and a graceful stop drain it
    if sms_enabled(settings):
        app.router.add_post("/sms", handlers.sms)
    if whatsapp_enabled(settings):
        app.router.add_get("/whatsapp", handlers.whatsapp_handshake)
        app.router.add_post("/whatsapp", handlers.whatsapp_webhook)

        async def graph_client(app: web.Application) -> AsyncIterator[None]:
            session = aiohttp.ClientSession()
            assert settings.whatsapp_phone_number_id and settings.whatsapp_access_token
            handlers.sender = GraphSender(
                session,
                settings.whatsapp_graph_url,
                settings.whatsapp_phone_number_id,
                settings.whatsapp_access_token.get_secret_value(),
                retry,
            )
            yield
            await outbox.close()
            await session.close()

        app.cleanup_ctx.append(graph_client)
    return app
