"""`ingester web` serves the PRAATMEE keyword beside the page: the webhooks are mounted at /keyword,
count into the same per-day counters as the page, and an endpoint without its secrets is named at start.

Runs the real command as its own process and signs the SMS exactly as Twilio does."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import psycopg
from web_helpers import start_web

from ingester.keyword.twilio import signature

TOKEN = "twilio-auth-token-for-the-mount-test"
PUBLIC = "https://praatmee.example.nl"


async def start(database_url: str, log: Path) -> tuple[asyncio.subprocess.Process, str]:
    return await start_web(database_url, log, PULSE_WEB_FLUSH_SECONDS="0.3", PULSE_TWILIO_AUTH_TOKEN=TOKEN,
                           PULSE_WEB_PUBLIC_URL=PUBLIC, PULSE_ENTRY_URL="https://www.amsterdam.nl/praatmee")


async def test_a_signed_sms_to_the_web_service_is_answered_with_the_link_and_counted_per_day(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "web.log"
    proc, base = await start(database_url, log)
    try:
        params = [("From", "+31612345678"), ("Body", "Praatmee!"), ("MessageSid", "SM" + "1" * 32)]
        sig = signature(TOKEN, PUBLIC + "/keyword/sms", params)
        async with aiohttp.ClientSession() as http:
            async with http.post(base + "/keyword/sms", data=params, headers={"X-Twilio-Signature": sig}) as r:
                assert r.status == 200
                assert "https://www.amsterdam.nl/praatmee?bron=sms" in await r.text()
            async with http.post(base + "/keyword/sms", data=params, headers={"X-Twilio-Signature": "x" + sig}) as r:
                assert r.status == 403
            # WhatsApp is not configured: its endpoint answers 404, and the service said so at start.
            async with http.get(base + "/keyword/whatsapp") as r:
                assert r.status == 404
        for _ in range(100):
            with psycopg.connect(database_url) as conn:
                row = conn.execute("SELECT sum(keyword_sms) FROM kpi.entry_daily WHERE source = 'sms'").fetchone()
            if row and row[0] == 1:
                break
            await asyncio.sleep(0.1)
        assert row is not None and row[0] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
    text = log.read_text(errors="replace")
    assert "whatsapp" in text.lower() and "PULSE_WHATSAPP" in text  # named at start: which variables to set
    assert "612345678" not in text and TOKEN not in text
