"""KPI latency benchmark (not part of the test suite).

Creates a scratch database next to DATABASE_URL/TEST_DATABASE_URL (default: local PostgreSQL),
migrates it, generates 90 days of one busy channel with >= 5 million engagements using SQL
generate_series, then times dashboard-like queries: kpi.summary and the activity views, each also
as the same question asked of the raw tables (kpi.activity() reads events directly). Prints p50/p95,
the ratio view/raw and the tier. Drops the scratch database unless --keep.

    .venv/bin/python bench/kpi.py [--scale 1.0] [--runs 7] [--keep] [--reuse DB] [--only NAME]

--reuse DB migrates an earlier --keep database to the current schema and times it again (no new data),
which is how a schema change is compared on the same rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ingester.migrate import detect_tier, migrate  # noqa: E402

DAYS = 90
POSTS = 900  # ten a day


def generate(conn: psycopg.Connection, scale: float) -> dict[str, int]:
    """Posts, replies in their threads (some deep, some addressed), answers, favourites, boosts,
    follows, snapshots. Accounts follow a skewed distribution so that many return."""
    n_replies = int(1_500_000 * scale)
    n_favs = int(3_000_000 * scale)
    n_reblogs = int(500_000 * scale)
    n_follows = int(50_000 * scale)
    n_accounts = 200_000
    conn.execute("""INSERT INTO pulse.channels (channel, account_id, account_key, acct, base_url)
                    VALUES ('ams', '1', 'k_ams', 'ams@x', 'https://x')""")
    conn.execute("CREATE TEMP TABLE params AS SELECT date_trunc('hour', now()) - interval '90 days' AS t0")
    conn.execute(f"""
      INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, url, tags, source)
      SELECT 'ams', (1000000 + p)::text, t0 + p * interval '{DAYS * 24 * 3600 // POSTS} seconds',
             'own_post', 'k_ams', 'https://x/' || p,
             ARRAY[(ARRAY['qena', 'innovatorspotlight', 'vraagvandegemeente', 'wonen'])[1 + p % 4]],
             'rest'
        FROM generate_series(0, {POSTS - 1}) p, params""")
    # replies: thread of post p, up to 3 days after it; a third deep (not mentioning the city)
    conn.execute(f"""
      INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, in_reply_to_id,
                                  mentions_channel, thread_root_id, content, source)
      SELECT 'ams', (10000000 + i)::text,
             least(t0 + (i % {POSTS}) * interval '{DAYS * 24 * 3600 // POSTS} seconds'
                   + (random() ^ 3) * interval '3 days', now() - interval '1 minute'),
             CASE WHEN i % 3 = 0 THEN 'other' ELSE 'reply' END,
             'acct' || floor({n_accounts} * random() ^ 2)::int,
             CASE WHEN i % 3 = 0 THEN (10000000 + i - {POSTS})::text ELSE (1000000 + i % {POSTS})::text END,
             i % 3 <> 0, (1000000 + i % {POSTS})::text, 'tekst', 'stream'
        FROM generate_series(0, {n_replies - 1}) i, params""")
    # the city answers one reply in fifty, an hour or so later
    conn.execute("""
      INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, in_reply_to_id,
                                  thread_root_id, source)
      SELECT 'ams', (90000000 + status_id::bigint)::text, created_at + random() * interval '3 hours',
             'own_post', 'k_ams', status_id, thread_root_id, 'rest'
        FROM pulse.statuses WHERE relation = 'reply' AND status_id::bigint % 50 = 0""")
    for kind, n, base in (("favourite", n_favs, 0), ("reblog", n_reblogs, 50_000_000)):
        conn.execute(f"""
          INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                          account_key, source)
          SELECT 'ams', ({base} + i)::text,
                 least(t0 + (i % {POSTS}) * interval '{DAYS * 24 * 3600 // POSTS} seconds'
                       + (random() ^ 3) * interval '3 days', now() - interval '1 minute'),
                 '{kind}', (1000000 + i % {POSTS})::text,
                 'acct' || floor({n_accounts} * random() ^ 2)::int, 'stream'
            FROM generate_series(0, {n - 1}) i, params""")
    conn.execute(f"""
      INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, account_key, source)
      SELECT 'ams', (80000000 + i)::text, t0 + random() * interval '{DAYS} days', 'follow',
             'acct' || floor({n_accounts} * random())::int, 'stream'
        FROM generate_series(0, {n_follows - 1}) i, params""")
    conn.execute("""
      INSERT INTO pulse.post_snapshots (channel, post_id, observed_at, replies, favourites, reblogs, quotes)
      SELECT 'ams', status_id, created_at + interval '4 days', 0, 3000, 500, 0
        FROM pulse.statuses WHERE relation = 'own_post' AND in_reply_to_id IS NULL
         AND created_at < now() - interval '4 days'""")
    conn.execute("ANALYZE")
    n = conn.execute("SELECT count(*) FROM kpi.engagements").fetchone()[0]  # type: ignore[index]
    return {"engagements": n, "posts": POSTS}


QUERIES: list[tuple[str, str, str]] = [
    # (name, through the KPI layer, the same question asked of the raw events)
    ("summary 24h",
     "SELECT * FROM kpi.summary(now() - interval '24 hours', now(), 'ams')", ""),
    ("summary 7d",
     "SELECT * FROM kpi.summary(now() - interval '7 days', now(), 'ams')", ""),
    ("summary 30d",
     "SELECT * FROM kpi.summary(now() - interval '30 days', now(), 'ams')", ""),
    ("activity_hourly 24h",
     "SELECT * FROM kpi.activity_hourly WHERE channel = 'ams' AND bucket >= now() - interval '24 hours'",
     "SELECT * FROM kpi.activity(now() - interval '24 hours', now(), 'hour', 'ams')"),
    ("activity_hourly 7d",
     "SELECT * FROM kpi.activity_hourly WHERE channel = 'ams' AND bucket >= now() - interval '7 days'",
     "SELECT * FROM kpi.activity(now() - interval '7 days', now(), 'hour', 'ams')"),
    ("activity_daily 30d",
     "SELECT * FROM kpi.activity_daily WHERE channel = 'ams' AND bucket >= now() - interval '30 days'",
     "SELECT * FROM kpi.activity(now() - interval '30 days', now(), 'day', 'ams')"),
    ("activity_daily 90d",
     "SELECT * FROM kpi.activity_daily WHERE channel = 'ams' AND bucket >= now() - interval '90 days'",
     "SELECT * FROM kpi.activity(now() - interval '90 days', now(), 'day', 'ams')"),
    ("post_stats 7d",
     "SELECT * FROM kpi.post_stats WHERE channel = 'ams' AND posted_at >= now() - interval '7 days'", ""),
]


def timed(conn: psycopg.Connection, query: str, runs: int) -> tuple[float, float]:
    conn.execute(query).fetchall()  # warm the cache
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        conn.execute(query).fetchall()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 5.05 million engagements")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ap.add_argument("--reuse", metavar="DB", help="time an earlier --keep database again (migrated first)")
    ap.add_argument("--only", metavar="NAME", help="only the queries whose name starts with this")
    args = ap.parse_args()

    admin = os.environ.get("TEST_DATABASE_URL") or os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = args.reuse or f"pulse_bench_{uuid.uuid4().hex[:8]}"
    params = conninfo_to_dict(admin)
    if not args.reuse:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    params["dbname"] = name
    url = make_conninfo(**params)
    try:
        dsn = f"postgresql://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
        if params.get("password"):
            dsn = dsn.replace("@", f":{params['password']}@", 1)
        migrate(dsn)
        with psycopg.connect(url, autocommit=True) as conn:
            tier = detect_tier(conn)
            t = time.perf_counter()
            if args.reuse:
                n = conn.execute("SELECT count(*) FROM kpi.engagements").fetchone()[0]  # type: ignore[index]
                sizes = {"engagements": n, "posts": POSTS}
            else:
                sizes = generate(conn, args.scale)
            conn.execute("CALL pulse.refresh_aggregates()")
            print(f"tier: {tier.describe()}")
            print(f"data: {sizes['engagements']:,} engagements, {sizes['posts']} posts over {DAYS} days "
                  f"({'reused' if args.reuse else 'generated'} in {time.perf_counter() - t:.0f} s)")
            print(f"{'query':<22}{'p50 ms':>9}{'p95 ms':>9}{'raw p50':>9}{'raw p95':>9}{'view/raw':>10}")
            for label, q, raw in QUERIES:
                if args.only and not label.startswith(args.only):
                    continue
                p50, p95 = timed(conn, q, args.runs)
                if raw:
                    r50, r95 = timed(conn, raw, args.runs)
                    print(f"{label:<22}{p50:>9.1f}{p95:>9.1f}{r50:>9.1f}{r95:>9.1f}{p95 / r95:>10.2f}")
                else:
                    print(f"{label:<22}{p50:>9.1f}{p95:>9.1f}{'-':>9}{'-':>9}{'-':>10}")
    finally:
        if not args.keep and not args.reuse:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    main()
