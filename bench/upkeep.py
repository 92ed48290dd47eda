"""What the KPI upkeep costs the write path (not part of the test suite).

    python bench/upkeep.py [--events N] [--database-url URL]

Two scratch databases, migrated alike; in the second, the first-seen triggers are disabled and the
read-side indexes (hour/day buckets, retention, created/occurred) dropped. The same kind of
normalised events go through the real Batcher/Sink into each, in one process, and the events/s
and CPU per event (this process, and the database server) are printed with their ratio. Both
databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import psycopg  # noqa: E402

from ingest import FrameFactory, run_sink_only  # noqa: E402
from scratch import DEFAULT_URL, scratch_database  # noqa: E402
from ingester.runner import tune_gc  # noqa: E402

READ_SIDE = ("created_idx", "occurred_idx", "text_due_idx", "other_due_idx")


def strip_upkeep(url: str) -> list[str]:
    """Disable the first-seen triggers and drop the indexes only KPI reads and retention use."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE pulse.statuses DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE pulse.interactions DISABLE TRIGGER USER")
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'pulse'"
                            " AND tablename IN ('statuses', 'interactions')").fetchall()
        dropped = [i for (i,) in rows if "bucket" in i or i.endswith(READ_SIDE)]
        for name in dropped:
            conn.execute(f'DROP INDEX pulse."{name}"')
    return dropped


async def measure(url: str, seed: int, events: int) -> tuple[float, float, float]:
    pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
    try:
        args = argparse.Namespace(batch_size=500, max_age=0.2)
        n, c = await run_sink_only(pool, FrameFactory(seed, 117_100_000_000_000_000 + seed * 10**14), events, args)
    finally:
        await pool.close()
    return n / c.wall, c.cpu / n * 1e6, (c.db or 0.0) / n * 1e6


async def main_async(urls: list[str], events: int) -> None:
    tune_gc()
    full = await measure(urls[0], 1, events)
    lean = await measure(urls[1], 2, events)
    for label, (rate, py, db) in (("schema as migrated", full), ("without first-seen triggers and read-side indexes", lean)):
        print(f"{label:<52}{rate:>10,.0f} events/s  py {py:6.1f} us/ev  db {db:6.1f} us/ev")
    print(f"{'lean / as migrated':<52}{lean[0] / full[0]:>10.2f}x events/s, database CPU per event x{lean[2] / full[2]:.2f}")
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"reproduce: python bench/upkeep.py --events {events}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_URL))
    args = ap.parse_args()
    with scratch_database(args.database_url) as full, scratch_database(args.database_url) as lean:
        print("dropped in the lean database:", ", ".join(strip_upkeep(lean)))
        asyncio.run(main_async([full, lean], args.events))

if __name__ == "__main__":
    main()
