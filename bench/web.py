"""Benchmark of the public entry page (outside the test suite): requests/s and latency of GET /praatmee.

Creates a scratch database on URL ($TEST_DATABASE_URL or the local default), migrates it, fills it with
the channel's posts and threads through the real sink, and starts three things:

  1. `ingester web` as its own process (the service as deployed: no access log, store cache 5 s);
  2. a load generator as a second process on loopback: an aiohttp client with --connections keep-alive
     connections asking for the page (a mix of ?bron= codes) as fast as the server answers, for
     --seconds after a 2 s warm-up; it records time to first byte (response headers) and to the last byte;
  3. in this process, the sink writing --rate events/s (replies into the page's threads) the whole time,
     so the page's store reads compete with real writes.

Prints requests/s, p50/p95/p99 of both latencies, errors, the page size, the writer's achieved rate, and
the command that reproduces the run. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from scratch import DEFAULT_URL, scratch_database  # noqa: E402

from ingester.batcher import quantile  # noqa: E402
from ingester.events import Account, Relation, Source, StatusEvent  # noqa: E402
from ingester.sink import Sink  # noqa: E402
from ingester.store import upsert_channel  # noqa: E402

CH = "bench"
CITY = Account(key="k-city", acct="praatmee", url="https://social.example/@praatmee")
SOURCES = (None, "bibliotheek-oost", "tram-5", "buurthuis-noord", "x" * 50)


def ms(values: list[float], q: float) -> float:
    """The `q` quantile of `values` (seconds) in milliseconds; NaN when nothing was measured."""
    v = quantile(values, q)
    return float("nan") if v is None else v * 1000.0


# -- the load generator (second process) -------------------------------------------------------------


async def client(url: str, seconds: float, connections: int) -> dict[str, float]:
    ttfb: list[float] = []
    total: list[float] = []
    errors = 0
    size = 0
    rng = random.Random(1)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as http:
        start = time.perf_counter()
        warm_until = start + 2.0
        stop_at = warm_until + seconds

        async def worker() -> None:
            nonlocal errors, size
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                code = rng.choice(SOURCES)
                t0 = time.perf_counter()
                try:
                    async with http.get(url + ("" if code is None else f"?bron={code}")) as resp:
                        first = time.perf_counter()
                        body = await resp.read()
                        done = time.perf_counter()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                    first = done = time.perf_counter()
                    body = b""
                if t0 >= warm_until:
                    if ok:
                        ttfb.append(first - t0)
                        total.append(done - t0)
                        size = max(size, len(body))
                    else:
                        errors += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return {"requests": len(total), "seconds": seconds, "rps": len(total) / seconds, "errors": errors,
            "ttfb_p50_ms": ms(ttfb, 0.5), "ttfb_p95_ms": ms(ttfb, 0.95), "ttfb_p99_ms": ms(ttfb, 0.99),
            "total_p50_ms": ms(total, 0.5), "total_p95_ms": ms(total, 0.95), "total_p99_ms": ms(total, 0.99),
            "page_bytes": size}


# -- the store and the writer (this process) ---------------------------------------------------------


class Writer:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.sink = Sink(pool)
        self.next_id = 120_000_000_000_000_000
        self.roots: list[StatusEvent] = []
        self.written = 0
        self.rng = random.Random(7)

    def _id(self) -> str:
        self.next_id += 1000
        return str(self.next_id)

    def reply(self, parent: StatusEvent, at: datetime) -> StatusEvent:
        n = self.rng.randrange(5000)
        sid = self._id()
        who = Account(key=f"k-{n}", acct=f"bewoner{n}@mastodon.example", url=f"https://mastodon.example/@b{n}")
        return StatusEvent(channel=CH, status_id=sid, created_at=at, relation=Relation.REPLY, account=who,
                           in_reply_to_id=parent.status_id, in_reply_to_account_id="1",
                           url=f"https://mastodon.example/@b{n}/{sid}",
                           content="<p>Meer bomen graag, en een <a href='https://example.nl'>link</a> 🌳</p>",
                           visibility=self.rng.choice(("public",) * 8 + ("unlisted", "direct")),
                           mentions_channel=True, language="nl", source=Source.STREAM)

    async def seed(self, pool: asyncpg.Pool) -> None:
        await upsert_channel(pool, CH, "1", CITY.key, CITY.acct, "https://social.example")
        now = datetime.now(timezone.utc)
        events = []
        for i, tag in enumerate(("qena", "innovatorspotlight", "vraagvandegemeente", "amsterdam")):
            sid = self._id()
            post = StatusEvent(channel=CH, status_id=sid, created_at=now - timedelta(hours=3 - i / 2),
                               relation=Relation.OWN_POST, account=CITY, url=f"https://social.example/@praatmee/{sid}",
                               tags=(tag,), content=f"<p>Bericht {i} van de gemeente. Praat mee!</p>",
                               visibility="public", language="nl", source=Source.STREAM)
            self.roots.append(post)
            events.append(post)
        await self.sink.write(events)
        replies = [self.reply(self.rng.choice(self.roots), now - timedelta(minutes=self.rng.randrange(170)))
                   for _ in range(2000)]
        for i in range(0, len(replies), 500):
            await self.sink.write(replies[i:i + 500])

    async def run(self, rate: float, stop: asyncio.Event) -> None:
        """`rate` events/s in batches every 100 ms (as the batcher's max age would), until `stop`."""
        tick = 0.1
        started = time.perf_counter()
        while not stop.is_set():
            due = int((time.perf_counter() - started) * rate) - self.written
            if due > 0:
                now = datetime.now(timezone.utc)
                await self.sink.write([self.reply(self.rng.choice(self.roots), now) for _ in range(due)])
                self.written += due
            try:
                await asyncio.wait_for(stop.wait(), tick)
            except TimeoutError:
                pass


async def main_async(args: argparse.Namespace, url: str) -> None:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    writer = Writer(pool)
    await writer.seed(pool)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL"))}
    env.update(DATABASE_URL=url, PULSE_WEB_PORT="0", PULSE_WEB_HOST="127.0.0.1", PULSE_CHANNEL_NAME=CH,
               PULSE_LOG_FORMAT="json", PULSE_WEB_FLUSH_SECONDS="5")
    server = await asyncio.create_subprocess_exec(sys.executable, "-m", "ingester", "web", env=env,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert server.stdout is not None
    port = None
    while port is None:
        line = (await asyncio.wait_for(server.stdout.readline(), 20)).decode()
        if not line:
            raise SystemExit("ingester web did not start")
        m = re.search(r"listening on [\d.]+:(\d+)", line)
        port = int(m.group(1)) if m else None
    page = f"http://127.0.0.1:{port}/praatmee"
    stop = asyncio.Event()
    write_task = asyncio.create_task(writer.run(args.rate, stop))
    started = time.perf_counter()
    load = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", page, "--seconds", str(args.seconds),
        "--connections", str(args.connections), stdout=asyncio.subprocess.PIPE)
    out, _ = await load.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    await write_task
    server.terminate()
    await server.wait()
    views = await pool.fetchval("SELECT coalesce(sum(page_views), 0) FROM kpi.entry_daily")
    await pool.close()
    r = json.loads(out)
    print(f"GET /praatmee over {r['seconds']:g} s, {args.connections} keep-alive connections "
          "from a second process:")
    print(f"  {r['rps']:,.0f} requests/s ({r['requests']:,} requests, {r['errors']} errors), "
          f"page {r['page_bytes']:,} bytes")
    print(f"  first byte: p50 {r['ttfb_p50_ms']:.1f} ms, p95 {r['ttfb_p95_ms']:.1f} ms, "
          f"p99 {r['ttfb_p99_ms']:.1f} ms")
    print(f"  last byte:  p50 {r['total_p50_ms']:.1f} ms, p95 {r['total_p95_ms']:.1f} ms, "
          f"p99 {r['total_p99_ms']:.1f} ms")
    print(f"  meanwhile the sink wrote {writer.written:,} events ({writer.written / elapsed:,.0f}/s, "
          f"target {args.rate:g}/s); page views counted: {views:,}")
    print(f"  target: >= 1,000 requests/s at p95 <= 50 ms -> "
          f"{'met' if r['rps'] >= 1000 and r['ttfb_p95_ms'] <= 50 else 'NOT met'}")
    la = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cpu cores: {os.cpu_count()}; load average at the end: {la}; reproduce: python bench/web.py "
          f"--seconds {args.seconds:g} --connections {args.connections} --rate {args.rate:g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured duration (after a 2 s warm-up)")
    ap.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    ap.add_argument("--rate", type=float, default=200.0, help="events/s the sink writes meanwhile")
    ap.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)  # the load generator's own process
    ap.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_URL),
                    help="server (any database on it) where a scratch database is created and dropped")
    args = ap.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(client(args.client, args.seconds, args.connections))))
        return
    with scratch_database(args.database_url) as url:
        asyncio.run(main_async(args, url))


if __name__ == "__main__":
    main()
