"""Ingest benchmark (not part of the test suite).

    python bench/ingest.py [--events N] [--database-url URL]

Creates a scratch database on URL ($TEST_DATABASE_URL or the local default), migrates it, and
measures:
  0. decode + normalise alone (no database): the Python cost in front of the sink;
  1. pipeline: WebSocket frame text -> frames.decode_ws_frame -> normalize.normalize_stream ->
     Batcher/Sink -> commit, in events/s (and the CPU this process spent per event);
  2. sink only: the same kind of normalised events -> Batcher/Sink -> commit; and again (half as
     many) with serial writes, no staging ahead, for the ratio of the two;
  3. baseline: one autocommit INSERT per normalised event (smaller sample), and the ratios;
  4. frame->commit latency p50/p99 at a steady rate (default 1,000 events/s for 20 s);
  5. with --against DIR (default: the newest frozen release schema in tests/data/release_schema):
     the pipeline again, alternately on this schema and on a database migrated with DIR's, in
     rounds, and the ratio of the two -- what a schema change (e.g. the rollup triggers) costs the
     write path, measured in one run so that the machine's load hits both alike.
Frames are built from the real payloads in shared/mastodon (double-encoded notification payloads,
updates, status.update edits, deletes) with fresh ids. The database is dropped at the end.

Every phase also prints the CPU spent per event by this process ("py") and by the database server
processes serving the scratch database ("db", read from /proc; local server only). Wall-clock
figures move with whatever else runs on the machine (the baseline is bound by the disk's fsync
latency and swings most); the CPU figures do not, and 1 / max(py, db) is the pipeline's ceiling on
an otherwise idle machine with a core for each side. The last line times a fixed pure-Python loop:
scale by it to compare runs made on different machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from scratch import DEFAULT_URL, scratch_database  # noqa: E402

from ingester.batcher import Batcher, quantile  # noqa: E402
from ingester.events import DeleteEvent, EditEvent, InteractionEvent, StatusEvent  # noqa: E402
from ingester.frames import decode_ws_frame  # noqa: E402
from ingester.normalize import ChannelContext, normalize_stream  # noqa: E402
from ingester.runner import tune_gc  # noqa: E402
from ingester.sink import Sink  # noqa: E402

EVENTS_DIR = ROOT.parent / "shared" / "mastodon" / "streaming" / "websocket" / "events"
CHUNK = 10_000
# Share of each frame kind (per 100 frames): favourites and replies dominate a city account's traffic.
MIX = {"favourite": 36, "reply": 22, "reblog": 12, "deep_reply": 12, "follow": 6, "own_post": 5, "edit": 5, "delete": 2}


def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class FrameFactory:
    """Realistic WebSocket frames with fresh ids, from the recorded `update`, `notification` and
    `status.update` payloads (the channel is the recorded account mastodonpy_test)."""

    def __init__(self, seed: int, id_base: int) -> None:
        self.rng = random.Random(seed)
        self.post_t = _load("update.payload-decoded.json")
        self.note_t = _load("notification.payload-decoded.json")
        self.edit_t = _load("status.update.payload-decoded.json")
        self.channel_account = self.post_t["account"]
        self.channel_id = self.channel_account["id"]
        self.next_id = id_base
        self.next_note = id_base // 10**9
        self.clock = datetime(2026, 8, 3, tzinfo=timezone.utc) + timedelta(days=(id_base // 10**12) % 300)
        self.residents = [self._resident(i) for i in range(2000)]
        self.posts: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        for _ in range(20):
            self.own_post()
        self.kinds = list(MIX)
        self.weights = list(MIX.values())

    def _resident(self, i: int) -> dict[str, Any]:
        a = dict(self.note_t["account"])
        rid = str(117_020_700_000_000_000 + i * 7919)
        name = f"bewoner_{i}"
        a.update(id=rid, username=name, acct=f"{name}@mastodon.example", display_name=f"Bewoner {i}",
                 url=f"https://mastodon.example/@{name}", uri=f"https://mastodon.example/users/{name}")
        return a

    def _id(self) -> str:
        self.next_id += 65_536 + self.rng.randrange(1000)  # snowflake-like: time-ordered, gaps
        return str(self.next_id)

    def _now(self) -> str:
        self.clock += timedelta(milliseconds=self.rng.randrange(1, 40))
        return _iso(self.clock)

    @staticmethod
    def _frame(stream: list[str], event: str, payload: Any) -> str:
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        return json.dumps({"stream": stream, "event": event, "payload": text})

    def own_post(self) -> str:
        s = dict(self.post_t)
        sid = self._id()
        s.update(id=sid, created_at=self._now(), content=f"<p>Gemeente-update {sid}: werk aan de weg.</p>",
                 url=f"http://localhost:3000/@mastodonpy_test/{sid}",
                 uri=f"http://localhost:3000/ap/users/{self.channel_id}/statuses/{sid}")
        self.posts = (self.posts + [s])[-50:]
        return self._frame(["user"], "update", s)

    def _reply_status(self, parent: dict[str, Any], author: dict[str, Any]) -> dict[str, Any]:
        s = dict(self.note_t["status"])
        sid = self._id()
        s.update(id=sid, created_at=self._now(), in_reply_to_id=parent["id"],
                 in_reply_to_account_id=parent["account"]["id"], account=author,
                 content=f"<p>Antwoord {sid} van {author['username']}: dank voor de info!</p>",
                 url=f"https://mastodon.example/@{author['username']}/{sid}",
                 uri=f"https://mastodon.example/users/{author['username']}/statuses/{sid}")
        self.replies = (self.replies + [s])[-500:]
        return s

    def _notification(self, kind: str, status: dict[str, Any] | None, author: dict[str, Any]) -> str:
        self.next_note += 1
        n: dict[str, Any] = {"id": str(self.next_note), "type": kind, "created_at": self._now(),
                             "group_key": f"ungrouped-{self.next_note}", "account": author}
        if status is not None:
            n["status"] = status
        return self._frame(["user"], "notification", n)

    def frame(self) -> str:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        who = self.rng.choice(self.residents)
        post = self.rng.choice(self.posts)
        if kind == "own_post":
            return self.own_post()
        if kind in ("favourite", "reblog"):
            return self._notification(kind, post, who)
        if kind == "follow":
            return self._notification("follow", None, who)
        if kind == "reply":
            return self._notification("mention", self._reply_status(post, who), who)
        if kind == "deep_reply" and self.replies:  # a reply to a reply, seen on a hashtag stream
            parent = self.rng.choice(self.replies)
            return self._frame(["hashtag", "amsterdam"], "update", self._reply_status(parent, who))
        if kind == "edit":
            s = dict(post)
            s.update(edited_at=self._now(), content=post["content"].replace("</p>", " (bijgewerkt)</p>"))
            return self._frame(["user"], "status.update", s)
        if kind == "delete" and self.replies:
            victim = self.replies.pop(self.rng.randrange(len(self.replies)))
            return json.dumps({"stream": ["user"], "event": "delete", "payload": victim["id"]})
        return self._notification("favourite", post, who)

    def chunks(self, n: int, size: int = CHUNK) -> Iterator[list[str]]:
        while n > 0:
            k = min(size, n)
            yield [self.frame() for _ in range(k)]
            n -= k


CTX = ChannelContext(channel="main", account_id="117020617404561855", salt="bench-salt-not-a-secret-0123")


def normalise(frames: list[str]) -> list[Any]:
    now = datetime.now(timezone.utc)
    return [ev for f in frames for ev in normalize_stream(decode_ws_frame(f), CTX, now)]


async def db_cpu(pool: asyncpg.Pool | None) -> float | None:
    """CPU seconds used so far by the server processes serving this scratch database (Linux /proc,
    local server only; None where that cannot be read)."""
    if pool is None:
        return None
    pids = await pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    total = 0.0
    try:
        for row in pids:
            with open(f"/proc/{row['pid']}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total


class Clock:
    """Wall time, this process's CPU time and the database server's CPU time over the timed sections
    only (frame generation and the like are excluded). CPU per event shows what each side costs,
    whatever else runs on the machine: on an idle machine with a core for each, the pipeline cannot
    beat 1 / max(python, database) CPU per event."""

    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        self.wall = 0.0
        self.cpu = 0.0
        self.db: float | None = 0.0 if pool is not None else None
        self._w = self._c = 0.0
        self._d: float | None = None

    async def start(self) -> None:
        self._d = await db_cpu(self.pool)
        self._w, self._c = time.perf_counter(), time.process_time()

    async def stop(self) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c
        now = await db_cpu(self.pool)
        if self.db is not None and self._d is not None and now is not None:
            self.db += now - self._d
        else:
            self.db = None


async def run_pipeline(pool: asyncpg.Pool, factory: FrameFactory, n: int, args: argparse.Namespace) -> tuple[int, Clock]:
    """Frames -> decode -> normalise -> batcher -> commit, timed from the first frame to the commit of the
    last. The frames are generated before the clock starts (all of them: stopping the clock to make
    more would also stop the producer while the sink drains, which is not how a stream behaves).

    Like the stream source, the producer hands control back to the event loop between socket reads
    (`--frames-per-read` frames each), so the batcher's database round trips overlap with decoding.
    """
    frames = [f for chunk in factory.chunks(n) for f in chunk]
    batcher = Batcher(Sink(pool), batch_size=args.batch_size, max_age=args.max_age)
    task = asyncio.create_task(batcher.run())
    events, clock, per_read = 0, Clock(pool), args.frames_per_read
    await clock.start()
    now = datetime.now(timezone.utc)
    for i, f in enumerate(frames):
        if i % per_read == 0:
            await asyncio.sleep(0)  # the next socket read
        for ev in normalize_stream(decode_ws_frame(f), CTX, now):
            await batcher.put(ev)
            events += 1
    await batcher.flush()  # the commit of the last event ends the run
    await clock.stop()
    await batcher.close()
    await task
    return events, clock


class SerialBatcher(Batcher):
    """The batcher without staging ahead: each batch is staged, applied and committed before the next
    one is touched (how the sink worked before). For the in-process comparison only."""

    async def _stage_ahead(self, items: list[Any]) -> None:
        return None


async def run_sink_only(
    pool: asyncpg.Pool, factory: FrameFactory, n: int, args: argparse.Namespace, batcher_class: type[Batcher] = Batcher
) -> tuple[int, Clock]:
    evs = [ev for chunk in factory.chunks(n) for ev in normalise(chunk)]
    batcher = batcher_class(Sink(pool), batch_size=args.batch_size, max_age=args.max_age)
    task = asyncio.create_task(batcher.run())
    clock = Clock(pool)
    await clock.start()
    for ev in evs:
        await batcher.put(ev)
    await batcher.flush()
    await clock.stop()
    await batcher.close()
    await task
    return len(evs), clock


async def run_normalise_only(factory: FrameFactory, n: int) -> tuple[int, Clock]:
    """Decode + normalise alone (no database): the CPU the pipeline spends before the sink."""
    events, clock = 0, Clock()
    for frames in factory.chunks(n):
        await clock.start()
        events += len(normalise(frames))
        await clock.stop()
    return events, clock


BASELINE_SQL = {
    StatusEvent: "INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, in_reply_to_id,"
    " in_reply_to_account_id, mentions_channel, url, tags, content, language, visibility, edited_at, source)"
    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT DO NOTHING",
    InteractionEvent: "INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id, account_key,"
    " source) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
    DeleteEvent: "INSERT INTO pulse.tombstones (channel, status_id, deleted_at, source) VALUES ($1,$2,$3,$4)"
    " ON CONFLICT DO NOTHING",
}


def _baseline_args(ev: Any) -> tuple[str, tuple[Any, ...]] | None:
    if isinstance(ev, EditEvent):
        s = ev.status
        return ("INSERT INTO pulse.edits (channel, status_id, edited_at, source) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
                (s.channel, s.status_id, s.edited_at, s.source.value))
    if isinstance(ev, StatusEvent):
        return (BASELINE_SQL[StatusEvent], (ev.channel, ev.status_id, ev.created_at, ev.relation.value, ev.account.key,
                ev.in_reply_to_id, ev.in_reply_to_account_id, ev.mentions_channel, ev.url, list(ev.tags), ev.content,
                ev.language, ev.visibility, ev.edited_at, ev.source.value))
    if isinstance(ev, InteractionEvent):
        return (BASELINE_SQL[InteractionEvent], (ev.channel, ev.notification_id, ev.occurred_at, ev.kind.value,
                ev.status_id, ev.account.key, ev.source.value))
    if isinstance(ev, DeleteEvent):
        return (BASELINE_SQL[DeleteEvent], (ev.channel, ev.status_id, ev.observed_at, ev.source.value))
    return None


async def run_baseline(pool: asyncpg.Pool, factory: FrameFactory, n: int) -> tuple[int, Clock]:
    """One autocommit INSERT per normalised event (no accounts, no threads: generous to the baseline)."""
    evs = normalise([factory.frame() for _ in range(n)])
    clock = Clock(pool)
    async with pool.acquire() as conn:
        await clock.start()
        for ev in evs:
            stmt = _baseline_args(ev)
            if stmt is not None:
                await conn.execute(stmt[0], *stmt[1])
        await clock.stop()
    return len(evs), clock


async def run_latency(pool: asyncpg.Pool, factory: FrameFactory, args: argparse.Namespace) -> tuple[list[float], float]:
    """Frames arrive at a steady rate; latency = frame received -> its events committed."""
    batcher = Batcher(Sink(pool), batch_size=args.batch_size, max_age=args.max_age)
    task = asyncio.create_task(batcher.run())
    frames = [f for chunk in factory.chunks(int(args.rate * args.seconds)) for f in chunk]
    start = time.monotonic()
    events = 0
    for i, f in enumerate(frames):
        due = start + i / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        received = time.monotonic()
        for ev in normalize_stream(decode_ws_frame(f), CTX, datetime.now(timezone.utc)):
            await batcher.put(ev, received=received)
            events += 1
    await batcher.close()
    await task
    return batcher.latencies(), events / (time.monotonic() - start)


def reference_loop() -> float:
    """Seconds for a fixed pure-Python workload: the figure to scale by when comparing machines."""
    best = float("inf")
    for _ in range(3):
        t, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t)
    return best


RELEASES = ROOT / "tests" / "data" / "release_schema"


def newest_release() -> Path | None:
    found = sorted(p for p in RELEASES.iterdir() if p.is_dir()) if RELEASES.is_dir() else []
    return found[-1] if found else None


async def compare_schemas(args: argparse.Namespace, url_now: str, url_then: str) -> dict[str, list[float]]:
    """Pipeline throughput on this schema and on the other one, alternating rounds (ABAB...), each
    round fresh frames; returns per schema [events, wall s, python cpu s, database cpu s] over all rounds."""
    pools = {k: await asyncpg.create_pool(u, min_size=2, max_size=4) for k, u in (("now", url_now), ("then", url_then))}
    totals = {"now": [0.0, 0.0, 0.0, 0.0], "then": [0.0, 0.0, 0.0, 0.0]}
    try:
        per_round = max(args.events // (2 * args.rounds), 1000)
        for r in range(args.rounds):
            order = ("now", "then") if r % 2 == 0 else ("then", "now")
            for k in order:
                n, c = await run_pipeline(pools[k], FrameFactory(10 + r, 118_000_000_000_000_000 + r * 10_000_000),
                                          per_round, args)
                totals[k][0] += n
                totals[k][1] += c.wall
                totals[k][2] += c.cpu
                totals[k][3] += c.db or 0.0
    finally:
        for pool in pools.values():
            await pool.close()
    return totals


async def main_async(args: argparse.Namespace, url: str) -> None:
    tune_gc()  # as the service does at start
    pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
    try:
        rows: list[tuple[str, int, Clock]] = []
        n, c = await run_normalise_only(FrameFactory(5, 117_500_000_000_000_000), min(args.events, 50_000))
        rows.append(("decode + normalise only (no database)", n, c))
        n, c = await run_pipeline(pool, FrameFactory(1, 117_100_000_000_000_000), args.events, args)
        rows.append(("pipeline: frame -> decode -> normalise -> commit", n, c))
        pipe_rate = n / c.wall
        n, c = await run_sink_only(pool, FrameFactory(2, 117_200_000_000_000_000), args.events, args)
        rows.append(("sink only: normalised events -> commit", n, c))
        sink_rate = n / c.wall
        n, c = await run_sink_only(pool, FrameFactory(6, 117_600_000_000_000_000), args.events // 2, args, SerialBatcher)
        rows.append(("sink only, serial (no staging ahead)", n, c))
        serial_rate = n / c.wall
        n, c = await run_baseline(pool, FrameFactory(3, 117_300_000_000_000_000), args.baseline)
        rows.append(("baseline: one autocommit INSERT per event", n, c))
        base_rate = n / c.wall
        lat, rate = await run_latency(pool, FrameFactory(4, 117_400_000_000_000_000), args)
        counts = Counter({t: await pool.fetchval(f"SELECT count(*) FROM pulse.{t}")
                          for t in ("statuses", "interactions", "edits", "tombstones", "accounts")})
    finally:
        await pool.close()

    print(f"\n{'phase':<50}{'events':>9}{'seconds':>9}{'events/s':>10}{'py cpu us/ev':>14}{'db cpu us/ev':>14}")
    for name, n, c in rows:
        db = "n/a" if c.db is None else f"{c.db / n * 1e6:.1f}"
        print(f"{name:<50}{n:>9,}{c.wall:>9.2f}{n / c.wall:>10,.0f}{c.cpu / n * 1e6:>14.1f}{db:>14}")
    print(f"{'pipeline / baseline':<50}{'':>18}{pipe_rate / base_rate:>9.1f}x")
    print(f"{'sink only / baseline':<50}{'':>18}{sink_rate / base_rate:>9.1f}x")
    print(f"{'sink only: staging ahead / serial':<50}{'':>18}{sink_rate / serial_rate:>9.2f}x")
    p50, p99 = quantile(lat, 0.5), quantile(lat, 0.99)
    print(f"latency frame -> commit at {rate:,.0f} events/s for {args.seconds:.0f} s "
          f"(batch {args.batch_size}, max age {args.max_age * 1000:.0f} ms): "
          f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms ({len(lat):,} samples)")
    print("rows stored: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine reference: a pure-Python loop of 10 million additions takes {reference_loop():.2f} s here "
          "(compare runs on different machines by this)")
    print(f"cpu cores: {os.cpu_count()}; load average at the end: {load}; reproduce: python bench/ingest.py "
          f"--events {args.events} --baseline {args.baseline} --rate {args.rate:g} --seconds {args.seconds:g} "
          f"--batch-size {args.batch_size} --frames-per-read {args.frames_per_read}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000, help="frames for the throughput phases")
    ap.add_argument("--baseline", type=int, default=5_000, help="events for the one-INSERT-per-event baseline")
    ap.add_argument("--rate", type=float, default=1000.0, help="frames/s for the latency phase")
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of the latency phase")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--max-age", type=float, default=0.2, help="seconds")
    ap.add_argument("--frames-per-read", type=int, default=16,
                    help="pipeline phase: frames decoded between two turns of the event loop (one socket read)")
    ap.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_URL),
                    help="server (any database on it) where a scratch database is created and dropped")
    ap.add_argument("--against", type=Path, default=newest_release(),
                    help="schema directory to compare the write path with (default: newest frozen release)")
    ap.add_argument("--rounds", type=int, default=4, help="alternating rounds of the schema comparison")
    ap.add_argument("--compare-only", action="store_true", help="run only the schema comparison")
    args = ap.parse_args()
    with scratch_database(args.database_url) as url:
        if not args.compare_only:
            asyncio.run(main_async(args, url))
        if args.against is not None:
            with scratch_database(args.database_url, args.against) as then_url:
                t = asyncio.run(compare_schemas(args, url, then_url))
            print(f"\nwrite path, pipeline in {args.rounds} alternating rounds (this schema vs {args.against.name}):")
            for k, label in (("now", "this schema"), ("then", args.against.name)):
                n, wall, py, db = t[k]
                print(f"  {label:<28}{n / wall:>9,.0f} events/s   py cpu {py / n * 1e6:6.1f} us/ev   "
                      f"db cpu {db / n * 1e6:6.1f} us/ev   ceiling 1/max(py, db) {n / max(py, db):>8,.0f} events/s")
            rate = (t["now"][0] / t["now"][1]) / (t["then"][0] / t["then"][1])
            ceiling = (t["now"][0] / max(t["now"][2:])) / (t["then"][0] / max(t["then"][2:]))
            print(f"  ratio: {rate:.2f}x measured, {ceiling:.2f}x of the CPU ceiling (target >= 0.80; the "
                  "measured one moves with the machine's load, the ceiling does not)")


if __name__ == "__main__":
    main()
