"""KPI latency benchmark: every board and alert query against the same answer from raw events.

Creates a scratch database next to TEST_DATABASE_URL/DATABASE_URL (default: local PostgreSQL),
migrates it, generates 90 days of a busy channel once (bench/kpi_world.py: 5.05 million engagements
at --scale 1) and loads bench/raw_kpi.sql, schema kpi_raw: the pre-rollup kpi definitions, straight
from the events. Then, for every query of issue #11's table and every variable, annotation, panel
and alert query of the four Grafana boards as Grafana expands them (default range and 90 days;
bench/kpi_queries.py), it checks that the kpi version and the kpi_raw version (the same SQL with
kpi. replaced by kpi_raw.) give the same rows in one transaction, and prints p50/p95 of both and the
speed-up raw p95 / kpi p95, against the targets: p95 <= 100 ms, and >= 20x for 30 and 90 days.
Exits 1 when any answer differs from raw (or fails), 3 when --timeout left some uncompared; speed
never changes the exit status.

    .venv/bin/python bench/kpi.py [--scale 1.0] [--runs 7] [--budget 60] [--timeout S] [--keep] [--reuse DB] [--only TEXT]

--reuse DB migrates an earlier --keep database to the current schema, reloads kpi_raw and times it
again (no new data): how a schema change is compared on the same rows. --only TEXT keeps the queries
whose name contains TEXT (e.g. "summary", "overview / daily", "90d"; comma-separated for several).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from kpi_queries import BenchQuery, alert_queries, board_queries, compare, issue_queries, load_raw, run  # noqa: E402
from kpi_world import DAYS, generate  # noqa: E402
from scratch import DEFAULT_URL, db_url  # noqa: E402

from ingester.migrate import MigrationError, migrate  # noqa: E402

P95_TARGET_MS = 100.0
SPEEDUP_TARGET = 20.0


def timed(conn: psycopg.Connection, sql: str, runs: int, budget: float) -> tuple[float, float, int]:
    """p50 and p95 in ms of `runs` executions (the cache is warm: compare() ran it first), and how
    many ran: a query that has used up `budget` seconds stops early (its p95 is far off target anyway)."""
    samples: list[float] = []
    while len(samples) < runs and sum(samples) < budget * 1000:
        t = time.perf_counter()
        try:
            run(conn, sql)
        except psycopg.errors.QueryCanceled:  # --timeout
            samples.append(float("inf"))
            break
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))], len(samples)


def measure(conn: psycopg.Connection, queries: list[BenchQuery], runs: int,
            budget: float) -> tuple[int, int, int, int]:
    """Print one line per query; returns (mismatches, p95 failures, speed-up failures, not compared)."""
    width = max(len(q.name) for q in queries) + 2
    print(f"{'query':<{width}}{'p50':>8}{'p95':>8}{'raw p50':>9}{'raw p95':>9}{'speedup':>9}"
          f"  {'p95<=100ms':<11}{'>=20x':<6}exact")
    slow = weak = unchecked = 0
    mismatches: list[str] = []
    for q in queries:
        try:
            diff = compare(conn, q) if q.reads_kpi else None
        except psycopg.errors.QueryCanceled:
            slow += 1
            unchecked += 1
            weak += q.long_range
            print(f"{q.name:<{width}}{'':>42}  {'FAIL':<11}{'FAIL' if q.long_range else '-':<6}TIMEOUT: one version took over "
                  f"--timeout; not compared", flush=True)
            continue
        except psycopg.Error as exc:
            mismatches.append(f"{q.name}: error: {str(exc).splitlines()[0]}")
            print(f"{q.name:<{width}}{'':>42}  {'':<17}MISMATCH {mismatches[-1]}", flush=True)
            continue
        p50, p95, n = timed(conn, q.sql, runs, budget)
        fast = p95 <= P95_TARGET_MS
        slow += not fast
        note = f" ({n} of {runs} runs: --budget)" if n < runs else ""
        if not q.reads_kpi:  # pulse.* only: the raw version is the same SQL
            print(f"{q.name:<{width}}{p50:>8.1f}{p95:>8.1f}{'-':>9}{'-':>9}{'-':>9}"
                  f"  {'PASS' if fast else 'FAIL':<11}{'-':<6}no kpi{note}", flush=True)
            continue
        r50, r95, rn = timed(conn, q.raw, runs, budget)
        if rn < runs:
            note += f" (raw: {rn} of {runs} runs)"
        speedup = r95 / p95 if p95 > 0 else float("inf")
        strong = speedup >= SPEEDUP_TARGET if q.long_range else None
        weak += strong is False
        if diff is not None:
            mismatches.append(f"{q.name}: {diff[:300]}")
        print(f"{q.name:<{width}}{p50:>8.1f}{p95:>8.1f}{r50:>9.1f}{r95:>9.1f}{speedup:>8.2f}x"
              f"  {'PASS' if fast else 'FAIL':<11}{'-' if strong is None else 'PASS' if strong else 'FAIL':<6}"
              f"{'equal' if diff is None else 'MISMATCH ' + diff[:300]}{note}", flush=True)
    for line in mismatches:  # again at the end, where nobody misses them
        print(f"MISMATCH with raw events: {line}", file=sys.stderr)
    return len(mismatches), slow, weak, unchecked


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 5.05 million engagements in channel ams")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per query and version (default 7)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ap.add_argument("--reuse", metavar="DB", help="time an earlier --keep database again (migrated first)")
    ap.add_argument("--only", metavar="TEXT", help="only the queries whose name contains TEXT (comma-separated)")
    ap.add_argument("--budget", type=float, default=60.0, metavar="S",
                    help="stop timing a query version after S seconds, even before --runs (default 60)")
    ap.add_argument("--timeout", type=float, metavar="S",
                    help="cancel any statement after S seconds (statement_timeout); such a query is reported "
                         "as not compared and the exit status is 3 (default: no limit)")
    args = ap.parse_args()
    if not 0 < args.scale <= 10:
        ap.error("--scale must be above 0 and at most 10")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.budget <= 0:
        ap.error("--budget must be above 0")
    if args.timeout is not None and args.timeout <= 0:
        ap.error("--timeout must be above 0")

    admin = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = args.reuse or f"pulse_bench_{uuid.uuid4().hex[:10]}"
    url = db_url(admin, name)
    try:
        if not args.reuse:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
        try:
            return bench(url, args)
        finally:
            if args.keep:
                print(f"kept database {name} (time it again: --reuse {name})")
            elif not args.reuse:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except (psycopg.OperationalError, MigrationError) as exc:
        print(f"bench/kpi.py: database {name}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


def bench(url: str, args: argparse.Namespace) -> int:
    tier = migrate(url).tier
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        if args.reuse:
            n = conn.execute("SELECT count(*) FROM kpi.engagements").fetchone()[0]  # type: ignore[index]
            sizes = {"engagements": n, "posts": conn.execute(
                "SELECT count(*) FROM kpi.posts WHERE in_reply_to_id IS NULL").fetchone()[0]}  # type: ignore[index]
        else:
            sizes = generate(conn, args.scale)
        conn.execute("CALL pulse.refresh_aggregates()")
        made = time.perf_counter() - t
        t = time.perf_counter()
        load_raw(conn)
        print(f"tier: {tier.describe()}")
        print(f"data: {sizes['engagements']:,} engagements, {sizes['posts']} posts over {DAYS} days "
              f"({'reused' if args.reuse else 'generated'} in {made:.0f} s; kpi_raw built in "
              f"{time.perf_counter() - t:.0f} s)")
        now = datetime.now(UTC)
        queries = issue_queries() + board_queries(conn, now, tier.name != "postgres") + alert_queries(now)
        if args.only:
            wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
            queries = [q for q in queries if any(w in q.name.lower() for w in wanted)]
            if not queries:
                print(f"bench/kpi.py: no query name contains {args.only!r}", file=sys.stderr)
                return 2
        print(f"ms over {args.runs} runs each; speedup = raw p95 / p95 (raw: the same SQL on kpi_raw, "
              f"straight from the events); board ranges end {now:%Y-%m-%d %H:%M} UTC")
        if args.timeout:
            conn.execute(f"SET statement_timeout = {round(args.timeout * 1000)}")
        bad, slow, weak, unchecked = measure(conn, queries, args.runs, args.budget)
        longs = sum(q.long_range for q in queries)
        kpis = sum(q.reads_kpi for q in queries)
        print(f"\n{len(queries)} queries: {len(queries) - slow} within p95 <= {P95_TARGET_MS:.0f} ms; "
              f"{longs - weak} of {longs} over 30/90 days >= {SPEEDUP_TARGET:.0f}x faster than raw; "
              f"{kpis - bad - unchecked} of {kpis} reading kpi equal to raw" + (f", {bad} MISMATCH" if bad else "")
              + (f", {unchecked} not compared (--timeout)" if unchecked else ""))
    return 1 if bad else 3 if unchecked else 0


if __name__ == "__main__":
    sys.exit(main())
