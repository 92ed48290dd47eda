"""Keyword endpoint benchmark (not part of the test suite).

    python bench/keyword.py [--requests N]

Serves `keyword_app` mounted at /keyword on 127.0.0.1 (as the web service does) with a local Graph
API stand-in (tests/keyword_providers.py), then sends N signed requests per channel, one at a time,
each from a different number (so every one is answered): Twilio-signed SMS webhooks (answer in the
TwiML response) and Meta-signed WhatsApp webhooks (answer sent to the stand-in in the background).
Prints requests/s and p50/p95 latency of the webhook's response, and how many Graph sends arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from keyword_providers import (  # noqa: E402
    GraphStandIn,
    meta_request,
    twilio_form,
    twilio_request,
    whatsapp_message,
)

from ingester.keyword import KeywordSettings, keyword_app  # noqa: E402
from ingester.keyword.app import OUTBOX  # noqa: E402

PUBLIC, TOKEN, SECRET, ACCESS, PHONE_ID = "https://pulse.example.nl", "tw-token", "app-secret", "EAA-x", "1065403"


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def add(self, kind: str, source: str) -> None:
        self.n += 1


def _pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(p * len(values)))] * 1000


async def main(requests: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    graph = GraphStandIn(token=ACCESS, phone_number_id=PHONE_ID)
    graph_server = TestServer(graph.app(), host="127.0.0.1")
    await graph_server.start_server()
    settings = KeywordSettings(
        entry_url="https://www.amsterdam.nl/praatmee", public_url=PUBLIC, twilio_auth_token=SecretStr(TOKEN),
        whatsapp_verify_token=SecretStr("v"), whatsapp_app_secret=SecretStr(SECRET),
        whatsapp_access_token=SecretStr(ACCESS), whatsapp_phone_number_id=PHONE_ID,
        whatsapp_graph_url=f"http://127.0.0.1:{graph_server.port}/v24.0",
    )  # fmt: skip
    counter = _Counter()
    app = keyword_app(settings, counter)
    root = web.Application()
    root.add_subapp("/keyword", app)
    client = TestClient(TestServer(root, host="127.0.0.1"), auto_decompress=False)
    await client.start_server()
    channels = {
        "sms": lambda i: ("/keyword/sms", *twilio_request(
            TOKEN, f"{PUBLIC}/keyword/sms", twilio_form(f"+3161{i:07d}", "PRAATMEE", f"SM{i:032d}"))),
        "whatsapp": lambda i: ("/keyword/whatsapp", *meta_request(
            SECRET, whatsapp_message(f"3161{i:07d}", "PRAATMEE", f"wamid.{i}", PHONE_ID))),
    }  # fmt: skip
    try:
        for name, make in channels.items():
            latencies: list[float] = []
            started = time.perf_counter()
            for i in range(requests):
                path, body, headers = make(i)
                t0 = time.perf_counter()
                response = await client.post(path, data=body, headers=headers)
                await response.read()
                latencies.append(time.perf_counter() - t0)
                assert response.status == 200, response.status
            elapsed = time.perf_counter() - started
            await asyncio.wait_for(app[OUTBOX].drain(), timeout=60)
            print(
                f"{name:9s} {requests} signed requests, sequential: {requests / elapsed:,.0f} req/s, "
                f"p50 {_pct(latencies, 0.5):.2f} ms, p95 {_pct(latencies, 0.95):.2f} ms, "
                f"mean {statistics.fmean(latencies) * 1000:.2f} ms"
            )
        print(f"counted {counter.n}; Graph API sends received {len(graph.sent)}")
    finally:
        await client.close()
        await graph_server.close()
    print(f"reproduce: .venv/bin/python bench/keyword.py --requests {requests}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(min(parser.parse_args().requests, 100_000)))
