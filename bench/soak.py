"""Soak benchmark (not part of the test suite): a long run with faults, watching memory and losses.

    .venv/bin/python bench/soak.py [--seconds 3600] [--rate 200] [--database-url URL]
    .venv/bin/python bench/soak.py --days 30 [--speed 2880]   # footprint over time: bench/footprint.py

Starts the in-process simulator and a real `python -m ingester run` subprocess on a scratch database
(created and migrated here, dropped at the end), with the ingester's database connection running
through a `TcpProxy` (tests/tcpproxy.py). For `--seconds` it plays a scenario at `--rate` actions/s
while injecting faults:
  - streaming socket drops at random intervals (`--drop-min`..`--drop-max` seconds);
  - a database outage (proxy cut for `--outage-seconds`) every `--outage-every` seconds;
  - a burst of 429 answers on REST (`--burst-seconds` long) once every `--burst-every` seconds.
Every `--sample-every` seconds (while playing and while settling) it records the ingester's RSS (VmRSS
from /proc/<pid>/status). At the end it waits for the counts in `kpi.engagements` to equal the simulator's ground truth, then prints
peak RSS, RSS drift (least-squares slope over the second half, in MiB per hour), the counts, the
fault tallies and the command line that reproduces the run. Exit code 0 when nothing was lost or
doubled, 1 otherwise.

The simulator keeps indexes (the player's candidate pools, id-sorted REST timelines), so each
action and each REST page costs O(log n) or O(page) and a one-hour run at 200 actions/s (720,000
actions) stays on pace; only the ground truth at the end walks everything once. Choose --settle so
the run ends when you need it to (play + settle + a minute or two for start-up and the truth).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

from e2e import Ingester, converge, counts, db_address, duplicates, expected, ingester_env, with_port  # noqa: E402
from ingester.migrate import migrate  # noqa: E402
from ingester.simulator import RateLimits, Scenario, SimConfig, Simulator  # noqa: E402
from tcpproxy import TcpProxy  # noqa: E402

import footprint  # noqa: E402  (bench/, the script's own folder)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SALT = "soak-salt-placeholder-1"
MIB = 1024 * 1024


@dataclass
class Samples:
    t: list[float] = field(default_factory=list)  # seconds since start
    rss: list[int] = field(default_factory=list)  # bytes

    def add(self, t: float, rss: int | None) -> None:
        if rss is not None:
            self.t.append(t)
            self.rss.append(rss)

    def drift_mib_per_hour(self) -> float | None:
        """Least-squares slope of RSS over the second half of the run (the first half includes warm-up)."""
        if not self.t:
            return None
        half = self.t[-1] / 2
        pts = [(t, r) for t, r in zip(self.t, self.rss) if t >= half]
        if len(pts) < 3:
            return None
        n = len(pts)
        mt = sum(t for t, _ in pts) / n
        mr = sum(r for _, r in pts) / n
        var = sum((t - mt) ** 2 for t, _ in pts)
        if var == 0:
            return None
        slope = sum((t - mt) * (r - mr) for t, r in pts) / var  # bytes per second
        return slope * 3600 / MIB


def rss_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _url_for(admin: str, dbname: str) -> str:
    p = conninfo_to_dict(admin)
    user = p.get("user", "postgres")
    pw = f":{p['password']}" if p.get("password") else ""
    return f"postgresql://{user}{pw}@{p.get('host', '127.0.0.1')}:{p.get('port', '5432')}/{dbname}"


def _admin(admin: str, sql: str) -> None:
    with psycopg.connect(make_conninfo(admin), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


async def _drops(sim: Simulator, rng: random.Random, lo: float, hi: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(lo, hi))
        except asyncio.TimeoutError:
            sim.faults.drop_all()


async def _outages(proxy: TcpProxy, every: float, seconds: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except asyncio.TimeoutError:
            pass
        proxy.cut()
        print(f"  database outage for {seconds:.0f} s", flush=True)
        await asyncio.sleep(seconds)
        proxy.restore()


async def _bursts(sim: Simulator, every: float, seconds: float, stop: asyncio.Event) -> None:
    first = True
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every / 2 if first else every)
            return
        except asyncio.TimeoutError:
            pass
        first = False
        sim.faults.fail_rest(429, seconds=seconds)
        print(f"  429 burst for {seconds:.0f} s", flush=True)


async def _sample(samples: Samples, pid: int, started: float, every: float) -> None:
    """RSS every `every` seconds while the scenario plays and while the counts settle."""
    while True:
        samples.add(time.monotonic() - started, rss_of(pid))
        await asyncio.sleep(every)


async def soak(args: argparse.Namespace) -> int:
    dbname = f"pulse_soak_{uuid.uuid4().hex[:10]}"
    _admin(args.database_url, f'CREATE DATABASE "{dbname}"')
    url = _url_for(args.database_url, dbname)
    log = Path(tempfile.mkdtemp(prefix="pulse-soak-")) / "ingester.log"
    ingester: Ingester | None = None
    try:
        migrate(url)
        rng = random.Random(args.seed)
        limits = RateLimits(api_limit=1_000_000, paging_limit=1_000_000)
        async with Simulator(SimConfig(rate_limits=limits, ping_interval=5.0, seed=args.seed)) as sim, \
                TcpProxy(*db_address(url)) as proxy:
            env = ingester_env(
                with_port(url, proxy.port), sim, SALT,
                PULSE_RECONCILE_SECONDS=str(30.0 if args.reconcile is None else args.reconcile), PULSE_IDLE_TIMEOUT_SECONDS="20",
                PULSE_BATCH_MAX_AGE_MS="200",
            )
            ingester = Ingester(env, log)
            await ingester.start()
            assert ingester.proc is not None
            pid = ingester.proc.pid
            events = max(1, int(args.rate * args.seconds))
            started = time.monotonic()
            play = sim.start_scenario(Scenario(events=events, rate=args.rate, seed=args.seed))
            stop = asyncio.Event()
            faults = [
                asyncio.create_task(_drops(sim, rng, args.drop_min, args.drop_max, stop)),
                asyncio.create_task(_outages(proxy, args.outage_every, args.outage_seconds, stop)),
                asyncio.create_task(_bursts(sim, args.burst_every, args.burst_seconds, stop)),
            ]
            samples = Samples()
            sampler = asyncio.create_task(_sample(samples, pid, started, args.sample_every))
            next_report = 0.0
            while not play.done():
                now = time.monotonic() - started
                if now >= next_report:
                    got = sum((await counts(url)).values())
                    rss = rss_of(pid)
                    print(f"t={now:6.0f}s applied={sim.progress()['applied']:7d} stored={got:7d} "
                          f"rss={(rss or 0) / MIB:6.1f} MiB", flush=True)
                    next_report = now + args.report_every
                await asyncio.wait([play], timeout=1.0)
            played = time.monotonic() - started
            stop.set()
            await asyncio.gather(*faults)
            sim.faults.clear()
            truth = play.result()
            got = await converge(url, truth, timeout=args.settle)
            settle = time.monotonic() - started - played
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            dup = await duplicates(url)
            rc = await ingester.stop(timeout=60)
            want = expected(truth)
            ok = got == want and not any(dup.values()) and rc == 0
            drift = samples.drift_mib_per_hour()
            print()
            print(f"played {truth.actions} actions in {played:.0f} s ({truth.actions / played:.0f}/s); "
                  f"converged {settle:.0f} s later")
            print(f"faults: {sim.faults.snapshot()}; database outages {proxy.stats.cuts}")
            print(f"ingester RSS: start {samples.rss[0] / MIB:.1f} MiB, peak {max(samples.rss) / MIB:.1f} MiB, "
                  f"end {samples.rss[-1] / MIB:.1f} MiB, drift over the second half "
                  + (f"{drift:+.1f} MiB/h" if drift is not None else "n/a") + f" ({len(samples.rss)} samples)")
            print(f"counts:   {got}")
            print(f"expected: {want}")
            print(f"duplicates: {dup}; final SIGTERM exit code {rc}")
            print("RESULT: " + ("nothing lost, nothing doubled" if ok else "MISMATCH (see the log)"))
            print(f"ingester log: {log}")
            print("reproduce: .venv/bin/python bench/soak.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
            return 0 if ok else 1
    finally:
        if ingester is not None and ingester.proc is not None and ingester.proc.returncode is None:
            await ingester.kill9()
        _admin(args.database_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3600.0, help="how long the scenario plays")
    p.add_argument("--rate", type=float, default=200.0, help="scenario actions per second")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_URL),
                   help="a server and role that may CREATE DATABASE")
    p.add_argument("--drop-min", type=float, default=5.0, help="shortest interval between socket drops (s)")
    p.add_argument("--drop-max", type=float, default=60.0, help="longest interval between socket drops (s)")
    p.add_argument("--outage-every", type=float, default=600.0, help="a database outage every N seconds")
    p.add_argument("--outage-seconds", type=float, default=10.0)
    p.add_argument("--burst-every", type=float, default=1200.0, help="a 429 burst every N seconds (first at N/2)")
    p.add_argument("--burst-seconds", type=float, default=20.0)
    p.add_argument("--reconcile", type=float, default=None,
                   help="PULSE_RECONCILE_SECONDS for the ingester (default 30; with --days 180, on the scaled clock)")
    p.add_argument("--sample-every", type=float, default=2.0, help="RSS sampling interval (s)")
    p.add_argument("--report-every", type=float, default=30.0, help="progress line interval (s)")
    p.add_argument("--settle", type=float, default=600.0, help="max seconds to wait for the counts at the end")
    footprint.add_arguments(p)
    args = p.parse_args()
    if args.days is not None:
        footprint.check_arguments(p, args)
        sys.exit(asyncio.run(footprint.footprint(args)))
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
