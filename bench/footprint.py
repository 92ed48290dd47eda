"""Footprint over time (`bench/soak.py --days 30 --speed 2880`): a channel's month in minutes.

The service's memory must not grow with the channel's age. This plays `--history-days` of a busy city
channel into the simulator, starts the real service (`bench/scaled_service.py`: `ingester run` with an
injected `ScaledClock`) on a scratch database, lets it backfill, then plays `--days` more live over real
sockets on the same scaled calendar: the service's thread-polling schedule, reconcile interval and
retention all run on that calendar, the sink writes every event. Every `--sample-every` real seconds
it records the service's RSS (/proc/<pid>/status) and scrapes its /metrics for the size of the
thread-polling schedule and the age of the oldest post in it.

Prints one table over the live days and the verdicts; exit code 1 when the least-squares slope of RSS
over the second half of the live days exceeds `--max-slope` MiB per simulated day, when the schedule
holds more posts than the channel posted in the 30 days (plus `--schedule-slack-hours`) before its last
catch-up or a post older than that, or when the counts differ from the simulator's truth.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import shlex
import socket
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp

from e2e import KINDS, converge, duplicates, expected, ingester_env  # tests/ is on sys.path (soak.py)
from footprint_report import Sample, exact, summarise  # bench/ is on sys.path (the script's own folder)
from ingester.clock import ScaledClock
from ingester.simulator import RateLimits, Scenario, SimConfig, Simulator
from scratch import scratch_database

ROOT = Path(__file__).resolve().parent.parent
SALT = "soak-salt-placeholder-1"
MIB = 1024 * 1024
DAY = 86400.0
WINDOW = timedelta(days=30)  # ingester.sources.threads: posts are polled until they are 30 days old
RECHECK = timedelta(hours=6)  # CatchUp.recheck_window: mentions and quotes are re-read while this young
_SERIES = re.compile(r'^(pulse_thread_\w+|pulse_catchup_runs_total)\{channel="main"\} (\S+)$', re.M)


def rss_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deleted_quotes(sim: Simulator) -> tuple[int, int]:
    """(all, late): residents' quotes of the channel that were deleted, and those deleted more than the
    catch-up's 6-hour recheck window after they were posted. Mastodon announces a quote's delete to nobody
    (no stream event, no notification); the catch-up re-reads quotes only while they are younger than
    that window, so a quote deleted later stays counted: a known gap of the collector, not a loss."""
    assert sim.world is not None
    channel, rows = sim.channel_account().id, sim.world.statuses
    gone = [s for s in rows.values() if s.quote_id and s.deleted_at is not None and s.in_reply_to_id is None
            and (q := rows.get(s.quote_id)) is not None and q.account_id == channel]
    return len(gone), sum(1 for s in gone if s.deleted_at and s.deleted_at - s.created_at > RECHECK)


def _posts_since(sim: Simulator, since: datetime, until: datetime) -> int:
    """The channel's top-level posts created in [since, until] (answers and boosts are not polled)."""
    assert sim.world is not None
    n = 0
    for row in sim.world.authored(sim.channel_account().id).newest_first():
        if row.created_at < since:
            break
        if row.created_at <= until and row.in_reply_to_id is None and row.reblog_of_id is None:
            n += 1
    return n


async def _scrape(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """The thread-polling series of the service's /metrics (none before its first catch-up)."""
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
        return {}
    return {name: float(value) for name, value in _SERIES.findall(text)}


class Recorder:
    """Samples RSS and the schedule on a fixed real-time beat, against the shared scaled calendar.

    The schedule's gauges are set when a catch-up ends and describe the schedule as its thread step saw
    it, not as of the sample: under load a catch-up takes hours of the calendar. The runs counter says
    when: it goes up as a catch-up starts. Gauges read with the counter at R come from run R - 1 or
    later, which started after the last sample that saw the counter at R - 2 or less; the bound and the
    oldest post's age count back from that sample's time (`as_of`)."""

    def __init__(self, sim: Simulator, clock: ScaledClock, pid: int, port: int, slack: timedelta) -> None:
        self.sim, self.clock, self.pid, self.port, self.slack = sim, clock, pid, port, slack
        self.samples: list[Sample] = []
        self.live_at: tuple[float, datetime] | None = None  # (monotonic, calendar) when the live days began

    def start_live(self) -> datetime:
        at = self.clock.now()
        self.live_at = (time.monotonic(), at)
        return at

    async def run(self, every: float) -> None:
        """Sample every `every` real seconds once the live days have begun, until cancelled."""
        seen: list[tuple[int, datetime]] = []  # (runs counter, calendar time) of every sample so far
        start = self.clock.now()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while True:
                now, rss = self.clock.now(), rss_of(self.pid)
                series = await _scrape(http, self.port)
                runs = int(series.get("pulse_catchup_runs_total", 0))
                as_of = max((t for r, t in seen if r <= runs - 2), default=start)
                seen = [(r, t) for r, t in seen if t >= as_of] + [(runs, now)]  # older ones are never needed
                if rss is not None and self.live_at is not None:
                    t0, c0 = self.live_at
                    posts = series.get("pulse_thread_schedule_posts")
                    oldest = series.get("pulse_thread_schedule_oldest_post_timestamp_seconds") or None
                    self.samples.append(Sample(
                        minute=(time.monotonic() - t0) / 60,
                        day=(now - c0).total_seconds() / DAY,
                        rss=rss,
                        schedule=None if posts is None else int(posts),
                        oldest_days=None if oldest is None else (as_of.timestamp() - oldest) / DAY,
                        bound=_posts_since(self.sim, as_of - WINDOW - self.slack, now),
                        lag_hours=(now - as_of).total_seconds() / 3600,
                        polls=int(series.get("pulse_thread_polls_total", 0)),
                        runs=runs,
                    ))
                await asyncio.sleep(every)


async def footprint(args: argparse.Namespace) -> int:
    speed, days = args.speed, args.days
    step = timedelta(days=1) / args.actions_per_day
    post_share = args.posts_per_day / args.actions_per_day
    slack = timedelta(hours=args.schedule_slack_hours)
    reconcile = 180.0 if args.reconcile is None else args.reconcile  # PULSE_RECONCILE_SECONDS' default
    log = Path(tempfile.mkdtemp(prefix="pulse-footprint-")) / "ingester.log"
    with scratch_database(args.database_url) as url:
        limits = RateLimits(api_limit=10**9, paging_limit=10**9)
        config = SimConfig(rate_limits=limits, ping_interval=5.0, seed=args.seed, residents=args.residents)
        async with Simulator(config) as sim:
            # The calendar ends about a day before the real now, so nothing is ever in the database's future.
            origin = datetime.now(timezone.utc) - timedelta(days=days + 1)
            if args.history_days > 0:
                history = Scenario(events=max(1, int(args.history_days * args.actions_per_day)), seed=args.seed + 1,
                                   start_at=origin - timedelta(days=args.history_days), time_step=step,
                                   post_share=post_share)
                await sim.play(history)
            port = _free_port()
            env = ingester_env(url, sim, SALT, PULSE_RECONCILE_SECONDS=str(reconcile),
                               PULSE_IDLE_TIMEOUT_SECONDS="20", PULSE_BATCH_MAX_AGE_MS="200",
                               PULSE_METRICS_PORT=str(port))
            clock = ScaledClock(origin, time.time(), speed)
            with log.open("ab") as out:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, str(ROOT / "bench" / "scaled_service.py"), "--origin", origin.isoformat(),
                    "--anchor", repr(clock.anchor), "--speed", repr(speed),
                    env=env, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL)
            rec = Recorder(sim, clock, proc.pid, port, slack)
            sampler = asyncio.create_task(rec.run(args.sample_every))
            try:
                started = time.monotonic()
                truth = sim.ground_truth()
                got = await converge(url, truth, timeout=args.settle)
                backfill = time.monotonic() - started
                print(f"backfilled {args.history_days:g} days ({sum(expected(truth).values())} engagements) in "
                      f"{backfill:.0f} s: " + ("complete" if got == expected(truth) else f"INCOMPLETE {got}"),
                      flush=True)
                live_at = rec.start_live()
                rate = speed / step.total_seconds()
                play = sim.start_scenario(Scenario(events=max(1, int(days * args.actions_per_day)), rate=rate,
                                                   seed=args.seed, start_at=live_at, time_step=step,
                                                   post_share=post_share))
                next_report = 0.0
                while not play.done():
                    await asyncio.wait([play], timeout=1.0)
                    if proc.returncode is not None:
                        play.cancel()
                        print(f"the service exited with code {proc.returncode} during the live days; see {log}")
                        return 1
                    if rec.samples and rec.samples[-1].minute >= next_report:
                        s = rec.samples[-1]
                        print(f"  day {s.day:5.1f}  wall {s.minute:5.1f} min  RSS {s.rss / MIB:6.1f} MiB  "
                              f"schedule {s.schedule} (bound {s.bound})  applied {sim.progress()['applied']}",
                              flush=True)
                        next_report = s.minute + args.report_every / 60
                played = time.monotonic() - started - backfill
                truth = play.result()
                # Quotes deleted late never converge (deleted_quotes); wait for the other kinds.
                got = await converge(url, truth, timeout=args.settle, kinds=tuple(k for k in KINDS if k != "quote"))
                settled = time.monotonic() - started - backfill - played
            finally:
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
                if proc.returncode is None:
                    proc.terminate()
                    try:
                        await asyncio.wait_for(proc.wait(), 60)
                    except asyncio.TimeoutError:
                        proc.kill()
                        await proc.wait()
            dup = await duplicates(url)
            want = expected(truth)
            quotes_deleted, quotes_late = deleted_quotes(sim)
            same = exact(got, want, quotes_deleted) and not any(dup.values()) and proc.returncode == 0
            verdict = summarise(rec.samples, days, args.max_slope, args.schedule_slack_hours)
            print()
            print(f"{days:g} simulated days at {speed:g}× ({args.actions_per_day:g} actions and "
                  f"{args.posts_per_day:g} posts a day, {args.residents} residents, after {args.history_days:g} days "
                  f"of history): played {truth.actions} actions in {played / 60:.1f} min, converged "
                  f"{settled:.0f} s later")
            for line in verdict.lines:
                print(line)
            print(f"counts {got} vs truth {want}; duplicates {dup}; SIGTERM exit code {proc.returncode} → "
                  + ("nothing lost, nothing doubled" if same else "MISMATCH"))
            if got["quote"] != want["quote"]:
                print(f"  quotes: {got['quote'] - want['quote']:+d} = deleted quotes still counted; {quotes_deleted} "
                      f"quotes were deleted, {quotes_late} of them more than {RECHECK.seconds // 3600} h after "
                      "posting (Mastodon announces such a delete to nobody; catch-up re-reads quotes only that long)")
            print(f"ingester log: {log}")
            print("reproduce: .venv/bin/python bench/soak.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
            return 0 if verdict.ok and same else 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("footprint over time (--days)")
    g.add_argument("--days", type=float, default=None,
                   help="play this many simulated days on a scaled clock instead of the fault soak")
    g.add_argument("--speed", type=float, default=2880.0,
                   help="simulated seconds per real second (2880: 30 days in 15 minutes)")
    g.add_argument("--history-days", type=float, default=30.0,
                   help="days of history backfilled before the live days (30: the schedule starts full)")
    g.add_argument("--actions-per-day", type=float, default=1000.0, help="the channel's actions per simulated day")
    g.add_argument("--posts-per-day", type=float, default=5.0, help="the city's new posts per simulated day")
    g.add_argument("--residents", type=int, default=2000, help="distinct resident accounts")
    g.add_argument("--max-slope", type=float, default=0.5,
                   help="largest RSS slope over the second half that counts as flat (MiB per simulated day)")
    g.add_argument("--schedule-slack-hours", type=float, default=1.0,
                   help="simulated hours past 30 days a post may stay in the schedule (catch-ups run every 3 minutes)")


def check_arguments(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One readable line and exit code 2 for a value the run cannot use."""
    for name in ("days", "speed", "actions_per_day", "posts_per_day", "sample_every"):
        value = getattr(args, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            p.error(f"--{name.replace('_', '-')} must be a positive number (got {value})")
    if args.history_days < 0 or args.posts_per_day > args.actions_per_day:
        p.error("--history-days must be >= 0 and --posts-per-day at most --actions-per-day")
