"""`ingester migrate` while `ingester run` keeps ingesting: the first migrate after an upgrade may hold the
event tables for minutes while it rebuilds from them. The service's writes wait on the lock, are cancelled
after their time-out and retried, and nothing is lost or doubled: every KPI ends as on a database that was
never migrated under load."""

from __future__ import annotations

import asyncio
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from ingester import store
from ingester.batcher import Batcher
from ingester.migrate import SCHEMA_DIR, migrate
from ingester.sink import CursorMark, Sink
from kpi_catalog import differences, kpis, seen
from tier_scenario import CITY, CITY_ID, batches, write

HOLD = 2.5  # seconds the migration holds the event tables
WRITE_TIMEOUT = 1.0  # the service's per-write time-out, shorter than HOLD: writes are cancelled and retried
NAME = "099_rebuild_holding_the_events.sql"
REBUILD = f"""
-- Like a rebuild of structures from the stored events: no event may be written while it reads them.
LOCK TABLE pulse.statuses, pulse.interactions, pulse.edits IN SHARE ROW EXCLUSIVE MODE;
DO $$ BEGIN RAISE NOTICE 'rebuilding: 0/1'; PERFORM pg_sleep({HOLD}); RAISE NOTICE 'rebuilding: 1/1'; END $$;
"""


def schema_with_rebuild(tmp_path: Path) -> Path:
    """Today's views, and one new run-once file for a database migrated with today's schema."""
    shutil.copytree(SCHEMA_DIR / "views", tmp_path / "views")
    (tmp_path / NAME).write_text(REBUILD, encoding="utf-8")
    return tmp_path


async def test_the_service_writes_wait_through_a_migration_holding_the_event_tables_and_lose_nothing(
    database_url: str, empty_database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    migrate(empty_database_url)  # the reference: the same events, no migration while they are written
    await write(empty_database_url, now, pool_size=1)

    holding = threading.Event()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        for ch, city in CITY.items():
            await store.upsert_channel(pool, ch, CITY_ID[ch], city, f"{ch}@stad.example", "https://stad.example")
        batcher = Batcher(Sink(pool), batch_size=10, max_age=0.05, write_timeout=WRITE_TIMEOUT, retry_max_wait=0.2)
        consuming = asyncio.create_task(batcher.run())
        migrating = asyncio.create_task(asyncio.to_thread(
            migrate, database_url, schema_dir=schema_with_rebuild(tmp_path), progress=lambda _: holding.set()))
        assert await asyncio.to_thread(holding.wait, 30), "the migration never took the event tables"
        for i, batch in enumerate(batches(now)):
            for event in batch:
                await batcher.put(event)
            await batcher.put(CursorMark("ams", "notifications", str(1000 + i)))
        result = await migrating
        totals = await batcher.close()
        await consuming
        for ch in CITY:
            for h in range(3):
                await store.write_heartbeat(pool, {"channel": ch, "at": now - timedelta(minutes=h),
                                                   "stream_connected": True, "events_total": 10 * h, "spool_depth": 0})
    finally:
        await pool.close()

    assert result.applied == [NAME]
    assert totals.retries >= 1  # writes waited on the migration's lock past their time-out
    assert totals.rejected == 0
    assert totals.items == sum(len(b) + 1 for b in batches(now))
    want = kpis(empty_database_url, now)
    assert seen(want) > 150
    assert differences(want, kpis(database_url, now)) == []
