"""The keyword endpoints over real sockets, driven by requests signed as Twilio and Meta sign them, answering
through a local stand-in of the Graph API (tests/keyword_providers.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from keyword_providers import (
    GraphStandIn,
    meta_request,
    twilio_form,
    twilio_request,
    whatsapp_message,
    whatsapp_status,
)
from pydantic import SecretStr
from structlog.testing import capture_logs
from yarl import URL

from ingester.keyword import KeywordSettings, RetryPolicy, disabled_endpoints, keyword_app
from ingester.keyword.app import OUTBOX
from ingester.keyword.memory import ANSWER_EVERY_SECONDS
from ingester.keyword.reply import TEXTS
from ingester.observability import configure_logging
from ingester.redact import Redactor

ENTRY = "https://www.amsterdam.nl/praatmee"
PUBLIC = "https://pulse.example.nl"
SMS_URL = f"{PUBLIC}/keyword/sms"
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
VERIFY = "verify-token-PRAATMEE-42"
APP_SECRET = "meta-app-secret-fedcba9876543210"
ACCESS = "EAAGraphAccessToken0123456789"
PHONE_ID = "106540352242922"
NUMBER = "+31612345678"
WA_NUMBER = "31687654321"
FAST = RetryPolicy(attempts=4, first_wait=0.01, max_wait=0.05, timeout=2.0)


@dataclass
class FakeCounter:
    calls: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, source: str) -> None:
        self.calls.append((kind, source))


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def settings_for(graph_url: str, **overrides: object) -> KeywordSettings:
    values: dict[str, object] = {
        "entry_url": ENTRY,
        "public_url": PUBLIC,
        "twilio_auth_token": SecretStr(TWILIO_TOKEN),
        "whatsapp_verify_token": SecretStr(VERIFY),
        "whatsapp_app_secret": SecretStr(APP_SECRET),
        "whatsapp_access_token": SecretStr(ACCESS),
        "whatsapp_phone_number_id": PHONE_ID,
        "whatsapp_graph_url": graph_url,
    }
    values.update(overrides)
    return KeywordSettings(**values)  # type: ignore[arg-type]


@dataclass
class Service:
    client: TestClient
    app: web.Application
    counter: FakeCounter
    clock: FakeClock
    graph: GraphStandIn

    async def sms(self, body: str, sid: str, sender: str = NUMBER, token: str = TWILIO_TOKEN, url: str = SMS_URL):
        data, headers = twilio_request(token, url, twilio_form(sender, body, sid))
        return await self.client.post("/keyword/sms", data=data, headers=headers)

    async def whatsapp(self, payload: dict | bytes, secret: str = APP_SECRET):
        data, headers = meta_request(secret, payload)
        return await self.client.post("/keyword/whatsapp", data=data, headers=headers)

    async def drained(self) -> None:
        await asyncio.wait_for(self.app[OUTBOX].drain(), timeout=10)


@pytest.fixture
async def graph() -> AsyncIterator[tuple[GraphStandIn, str]]:
    stand = GraphStandIn(token=ACCESS, phone_number_id=PHONE_ID)
    server = TestServer(stand.app(), host="127.0.0.1")
    await server.start_server()
    yield stand, f"http://127.0.0.1:{server.port}/{stand.version}"
    await server.close()


async def _serve(settings: KeywordSettings, stand: GraphStandIn) -> Service:
    counter, clock = FakeCounter(), FakeClock()
    app = keyword_app(settings, counter, clock=clock, retry=FAST)
    root = web.Application()
    root.add_subapp("/keyword", app)  # as the web service mounts it
    client = TestClient(TestServer(root, host="127.0.0.1"))
    await client.start_server()
    return Service(client, app, counter, clock, stand)


@pytest.fixture
async def service(graph: tuple[GraphStandIn, str]) -> AsyncIterator[Service]:
    stand, url = graph
    svc = await _serve(settings_for(url), stand)
    yield svc
    await svc.client.close()


def _twiml_message(xml: str) -> str | None:
    root = ET.fromstring(xml)
    assert root.tag == "Response"
    message = root.find("Message")
    return None if message is None else message.text


# -- SMS (Twilio) ----------------------------------------------------------------------------------


async def test_a_signed_praatmee_sms_is_answered_in_twiml_with_the_sms_link(service: Service) -> None:
    response = await service.sms("Praatmee!", "SM0001")
    assert response.status == 200
    assert response.content_type == "text/xml"
    message = _twiml_message(await response.text())
    assert message is not None and f"{ENTRY}?bron=sms " in message
    assert service.counter.calls == [("keyword_sms", "sms")]


async def test_an_sms_with_emoji_and_accents_verifies_and_is_understood(service: Service) -> None:
    response = await service.sms("Hoi 😀 wil graag praat mee, café?", "SM0012")
    assert response.status == 200
    assert f"{ENTRY}?bron=sms " in (_twiml_message(await response.text()) or "")


async def test_the_sms_signature_includes_a_query_string_in_the_configured_url(service: Service) -> None:
    url = f"{SMS_URL}?nummer=centrum&x=%2F"
    data, headers = twilio_request(TWILIO_TOKEN, url, twilio_form(NUMBER, "PRAATMEE", "SM0013"))
    path = URL("/keyword/sms?nummer=centrum&x=%2F", encoded=True)  # sent as Twilio sends it: still encoded
    response = await service.client.post(path, data=data, headers=headers)
    assert response.status == 200 and _twiml_message(await response.text())


async def test_an_sms_with_a_wrong_signature_is_refused(service: Service) -> None:
    response = await service.sms("PRAATMEE", "SM0002", token="not-the-token")
    assert response.status == 403
    assert await response.text() == "signature mismatch\n"
    assert service.counter.calls == []


async def test_an_sms_whose_body_was_altered_after_signing_is_refused(service: Service) -> None:
    data, headers = twilio_request(TWILIO_TOKEN, SMS_URL, twilio_form(NUMBER, "hallo", "SM0003"))
    tampered = data.replace(b"Body=hallo", b"Body=PRAATMEE")
    response = await service.client.post("/keyword/sms", data=tampered, headers=headers)
    assert response.status == 403


async def test_the_sms_signature_covers_the_public_url_not_the_local_one(service: Service) -> None:
    local = str(service.client.make_url("/keyword/sms"))
    response = await service.sms("PRAATMEE", "SM0004", url=local)
    assert response.status == 403


async def test_a_replayed_sms_is_not_answered_or_counted_twice(service: Service) -> None:
    first = await service.sms("PRAATMEE", "SM0005")
    service.clock.now += ANSWER_EVERY_SECONDS + 1  # even after the rate-limit window
    again = await service.sms("PRAATMEE", "SM0005")
    assert _twiml_message(await first.text())
    assert again.status == 200 and _twiml_message(await again.text()) is None
    assert service.counter.calls == [("keyword_sms", "sms")]


async def test_a_second_request_within_ten_minutes_is_counted_but_not_answered(service: Service) -> None:
    await service.sms("PRAATMEE", "SM0006")
    second = await service.sms("praat mee", "SM0007")
    assert _twiml_message(await second.text()) is None
    assert service.counter.calls == [("keyword_sms", "sms")] * 2


async def test_any_other_sms_gets_one_line_of_help(service: Service) -> None:
    message = _twiml_message(await (await service.sms("Hoe laat is het?", "SM0008")).text())
    assert message == TEXTS.text("nl", "other")
    assert service.counter.calls == []


async def test_stop_by_sms_is_acknowledged_and_then_nothing_more_is_sent(service: Service) -> None:
    ack = _twiml_message(await (await service.sms("STOP", "SM0009")).text())
    assert ack == TEXTS.text("nl", "stop")
    service.clock.now += 3 * ANSWER_EVERY_SECONDS
    assert _twiml_message(await (await service.sms("PRAATMEE", "SM0010")).text()) is None


async def test_a_huge_declared_sms_body_is_refused_413(service: Service) -> None:
    params = twilio_form(NUMBER, "x" * 200_000, "SM0011")
    data, headers = twilio_request(TWILIO_TOKEN, SMS_URL, params)
    response = await service.client.post("/keyword/sms", data=data, headers=headers)
    assert response.status == 413
    assert service.counter.calls == []


async def test_a_huge_streamed_sms_body_is_refused_413_without_reading_it_all(service: Service) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 64 MB if nobody stops us
            sent += 65536
            yield b"Body=" + b"x" * 65531

    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"}
    response = await service.client.post("/keyword/sms", data=endless(), headers=headers)
    assert response.status == 413
    assert sent < 64 * 65536


async def test_an_sms_that_is_not_a_form_is_refused(service: Service) -> None:
    response = await service.client.post(
        "/keyword/sms", data=b'{"From":"x"}', headers={"Content-Type": "application/json", "X-Twilio-Signature": "x"}
    )
    assert response.status == 415


# -- WhatsApp (Cloud API) --------------------------------------------------------------------------


async def test_the_whatsapp_handshake_echoes_the_challenge_for_the_right_token(service: Service) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    response = await service.client.get("/keyword/whatsapp", params=query)
    assert (response.status, await response.text()) == (200, "1158201444")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY},
        {},
    ],
)
async def test_the_whatsapp_handshake_is_refused_otherwise(service: Service, query: dict[str, str]) -> None:
    response = await service.client.get("/keyword/whatsapp", params=query)
    assert response.status == 403


async def test_a_signed_whatsapp_praatmee_is_acknowledged_and_answered_through_the_graph_api(service: Service) -> None:
    response = await service.whatsapp(whatsapp_message(WA_NUMBER, "Hoi! PRAATMEE", "wamid.A1", PHONE_ID))
    assert response.status == 200
    await service.drained()
    [sent] = service.graph.sent
    assert sent["to"] == WA_NUMBER and sent["type"] == "text" and sent["messaging_product"] == "whatsapp"
    assert f"{ENTRY}?bron=whatsapp " in sent["text"]["body"]
    assert service.counter.calls == [("keyword_whatsapp", "whatsapp")]
    assert service.graph.refused == []


async def test_the_graph_api_is_retried_with_backoff_after_429_and_500(service: Service) -> None:
    service.graph.fail_first = [429, 500, 503]
    await service.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.A2", PHONE_ID))
    await service.drained()
    assert service.graph.attempts == 4
    assert len(service.graph.sent) == 1


async def test_the_graph_api_is_retried_when_it_cannot_be_reached(graph: tuple[GraphStandIn, str]) -> None:
    stand, _ = graph
    svc = await _serve(settings_for("http://127.0.0.1:9/v24.0"), stand)  # discard port: refused
    try:
        started = time.monotonic()
        with capture_logs() as logs:
            response = await svc.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.A3", PHONE_ID))
            assert response.status == 200
            await svc.drained()
        assert time.monotonic() - started < 5
        assert svc.counter.calls == [("keyword_whatsapp", "whatsapp")]
        # FAST.attempts tries, a wait before each but the first, then it gave up without raising.
        sends = [e["event"] for e in logs if e["event"].startswith("keyword.whatsapp_send")]
        assert sends == ["keyword.whatsapp_send_retry"] * (FAST.attempts - 1) + ["keyword.whatsapp_send_failed"]
    finally:
        await svc.client.close()


async def test_the_webhook_answers_200_before_a_slow_graph_api_does(graph: tuple[GraphStandIn, str]) -> None:
    stand, url = graph
    gate = asyncio.Event()
    original = stand._messages

    async def slow(request: web.Request) -> web.Response:
        await gate.wait()
        return await original(request)

    stand._messages = slow  # type: ignore[method-assign]
    svc = await _serve(settings_for(url), stand)
    try:
        started = time.monotonic()
        response = await svc.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.A4", PHONE_ID))
        assert response.status == 200 and time.monotonic() - started < 1.0
        assert stand.sent == []  # still waiting on the Graph API
        gate.set()
        await svc.drained()
        assert len(stand.sent) == 1
    finally:
        await svc.client.close()


async def test_a_refused_access_token_is_not_retried(graph: tuple[GraphStandIn, str]) -> None:
    stand, url = graph
    svc = await _serve(settings_for(url, whatsapp_access_token=SecretStr("EAAexpired")), stand)
    try:
        await svc.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.A5", PHONE_ID))
        await svc.drained()
        assert (stand.attempts, stand.refused) == (1, ["token"])
    finally:
        await svc.client.close()


async def test_a_whatsapp_webhook_with_a_wrong_signature_is_refused(service: Service) -> None:
    response = await service.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.B1", PHONE_ID), secret="nope")
    assert response.status == 403
    await service.drained()
    assert service.graph.attempts == 0 and service.counter.calls == []


async def test_a_whatsapp_webhook_without_a_signature_is_refused(service: Service) -> None:
    body = json.dumps(whatsapp_message(WA_NUMBER, "praatmee", "wamid.B2", PHONE_ID)).encode()
    response = await service.client.post(
        "/keyword/whatsapp", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 403


async def test_broken_json_is_a_one_line_400(service: Service) -> None:
    response = await service.whatsapp(b'{"object": "whatsapp_business_account", "entry": [')
    assert response.status == 400
    assert await response.text() == "broken JSON\n"


async def test_a_status_update_without_a_message_is_acknowledged_and_ignored(service: Service) -> None:
    response = await service.whatsapp(whatsapp_status(WA_NUMBER, "wamid.C1", PHONE_ID))
    assert response.status == 200
    await service.drained()
    assert service.graph.attempts == 0 and service.counter.calls == []


async def test_a_message_for_another_phone_number_of_the_app_is_not_answered(service: Service) -> None:
    response = await service.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.C2", "999999999"))
    assert response.status == 200
    await service.drained()
    assert service.graph.attempts == 0


async def test_a_replayed_whatsapp_message_is_answered_once(service: Service) -> None:
    payload = whatsapp_message(WA_NUMBER, "PRAATMEE", "wamid.D1", PHONE_ID)
    await service.whatsapp(payload)
    service.clock.now += ANSWER_EVERY_SECONDS + 1
    await service.whatsapp(payload)  # Meta redelivers a webhook it thinks was not acknowledged
    await service.drained()
    assert len(service.graph.sent) == 1
    assert service.counter.calls == [("keyword_whatsapp", "whatsapp")]


async def test_a_huge_whatsapp_body_is_refused_413(service: Service) -> None:
    payload = whatsapp_message(WA_NUMBER, "x" * (4 * 1024 * 1024), "wamid.E1", PHONE_ID)  # Meta's maximum is 3 MB
    response = await service.whatsapp(payload)
    assert response.status == 413


async def test_whatsapp_stop_is_acknowledged_and_silences_the_sender(service: Service) -> None:
    await service.whatsapp(whatsapp_message(WA_NUMBER, "stop", "wamid.F1", PHONE_ID))
    service.clock.now += 2 * ANSWER_EVERY_SECONDS
    await service.whatsapp(whatsapp_message(WA_NUMBER, "PRAATMEE", "wamid.F2", PHONE_ID))
    await service.drained()
    assert [m["text"]["body"] for m in service.graph.sent] == [TEXTS.text("nl", "stop")]


# -- configuration ---------------------------------------------------------------------------------


async def test_endpoints_without_their_secrets_answer_404_and_are_listed(graph: tuple[GraphStandIn, str]) -> None:
    stand, url = graph
    settings = settings_for(url, twilio_auth_token=None, whatsapp_app_secret=None)
    svc = await _serve(settings, stand)
    try:
        data, headers = twilio_request(TWILIO_TOKEN, SMS_URL, twilio_form(NUMBER, "PRAATMEE", "SM0100"))
        assert (await svc.client.post("/keyword/sms", data=data, headers=headers)).status == 404
        assert (await svc.client.get("/keyword/whatsapp", params={"hub.mode": "subscribe"})).status == 404
        assert (await svc.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.G1", PHONE_ID))).status == 404
    finally:
        await svc.client.close()
    lines = disabled_endpoints(settings)
    assert lines == [
        "POST /keyword/sms is off (404): set PULSE_TWILIO_AUTH_TOKEN",
        "GET/POST /keyword/whatsapp is off (404): set PULSE_WHATSAPP_APP_SECRET",
    ]
    assert disabled_endpoints(settings_for(url)) == []


# -- privacy ---------------------------------------------------------------------------------------


async def test_no_phone_number_or_secret_reaches_any_log_line(graph: tuple[GraphStandIn, str]) -> None:
    out = io.StringIO()
    # As the service configures it: Redactor.from_settings covers every SecretStr setting (tested in
    # test_keyword_signatures); the handshake's verify token travels in the query string of an access log line.
    configure_logging("json", Redactor([TWILIO_TOKEN, VERIFY, APP_SECRET, ACCESS]), level=logging.DEBUG, stream=out)
    stand, url = graph
    stand.fail_first = [500]
    try:
        svc = await _serve(settings_for(url), stand)
        try:
            handshake = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "77"}
            assert (await svc.client.get("/keyword/whatsapp", params=handshake)).status == 200
            await svc.sms("PRAATMEE", "SM0200")
            await svc.sms("PRAATMEE", "SM0201")  # rate-limited
            await svc.sms("PRAATMEE", "SM0201")  # replay
            await svc.sms("STOP", "SM0202")
            await svc.sms("PRAATMEE", "SM0203", token="forged")
            await svc.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.H1", PHONE_ID))  # 500, then sent
            await svc.whatsapp(whatsapp_message(WA_NUMBER, "hallo", "wamid.H2", PHONE_ID))
            await svc.whatsapp(whatsapp_status(WA_NUMBER, "wamid.H3", PHONE_ID))
            await svc.whatsapp(b"{broken")
            await svc.drained()
        finally:
            await svc.client.close()
        bad = await _serve(settings_for("http://127.0.0.1:9/v24.0"), stand)  # unreachable Graph API
        try:
            await bad.whatsapp(whatsapp_message(WA_NUMBER, "praatmee", "wamid.H4", PHONE_ID))
            await bad.drained()
        finally:
            await bad.client.close()
    finally:
        configure_logging("json", Redactor(), stream=io.StringIO())
    logged = out.getvalue()
    assert "keyword.message" in logged and "keyword.whatsapp_send_retry" in logged  # the logs did run
    assert "keyword.whatsapp_send_failed" in logged
    assert "aiohttp.access" in logged  # the web server's own request log is captured too
    for needle in ("31612345678", "612345678", "12345678", "31687654321", "87654321"):
        assert needle not in logged, needle
    for secret in (TWILIO_TOKEN, APP_SECRET, ACCESS, VERIFY):
        assert secret not in logged
