"""End to end: the simulator (real REST + WebSocket over sockets) -> `ingester run` (a real process) -> PostgreSQL.

Nothing lost, nothing doubled: through dropped sockets, refused reconnects, a kill -9 and a restart, the counts
per kind in `kpi.engagements` equal the simulator's ground truth exactly, and replaying inserts nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from e2e import Ingester, converge, counts, expected, ingester_env, wait_for
from ingester.simulator import RateLimits, Scenario, SimConfig, Simulator

pytestmark = pytest.mark.slow

# A city admin can raise the API limits; the suite does, so that its 20-second session does not spend
# minutes waiting for rate-limit windows (the 429 path has its own tests).
GENEROUS = RateLimits(api_limit=1_000_000, paging_limit=1_000_000)


async def _table_sizes(database_url: str) -> dict[str, object]:
    conn = await asyncpg.connect(database_url)
    try:
        out: dict[str, object] = {}
        for table in ("statuses", "interactions", "edits", "tombstones", "dead_letters", "post_snapshots"):
            out[table] = await conn.fetchval(f"SELECT count(*) FROM pulse.{table}")
        out["newest_row"] = await conn.fetchval(
            "SELECT greatest((SELECT max(ingested_at) FROM pulse.statuses), (SELECT max(ingested_at) FROM pulse.interactions))"
        )
        out["engagements"] = await conn.fetchval("SELECT count(*) FROM kpi.engagements")
        return out
    finally:
        await conn.close()


async def _cursor(database_url: str, name: str) -> str | None:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT value FROM pulse.cursors WHERE channel = 'main' AND name = $1", name)
    finally:
        await conn.close()


@pytest.mark.timeout(240)
async def test_drops_refusals_and_a_kill_end_with_exactly_the_ground_truth(
    database_url: str, salt: str, tmp_path: Path
) -> None:
    config = SimConfig(rate_limits=GENEROUS, ping_interval=2.0, seed=11)
    async with Simulator(config) as sim:
        ingester = Ingester(ingester_env(database_url, sim, salt), tmp_path / "ingester.log")
        await ingester.start()
        assert await wait_for(lambda: sim.progress()["open_sockets"] >= 1, 30), ingester.output()

        play = sim.start_scenario(Scenario(events=5200, rate=260, seed=11))
        sim.faults.drop_every(0.5)
        await wait_for(lambda: sim.progress()["applied"] >= 1500, 60)
        sim.faults.refuse_reconnects(2.0)  # events keep happening while the ingester cannot stream
        await wait_for(lambda: sim.progress()["applied"] >= 2600, 60)
        await ingester.kill9()  # mid-batch, mid-catch-up: whatever it was doing
        await asyncio.sleep(1.0)  # events go on without any ingester
        await ingester.start()
        truth = await play
        sim.faults.drop_every(None)
        drops = sim.faults.snapshot().get("sockets_dropped", 0)  # connections really cut, not attempts
        sim.faults.drop_all()  # one last gap: re-checks young threads and recent mentions

        got = await converge(database_url, truth, timeout=90)
        assert got == expected(truth), ingester.output()[-3000:]
        assert sum(got.values()) >= 2500
        assert drops >= 20
        assert sim.progress()["applied"] >= 5000

        rc = await ingester.stop()
        out = ingester.output()
        assert rc == 0, out[-2000:]
        summary = [line for line in out.splitlines() if line.startswith("ingester: stopped cleanly")]
        assert len(summary) == 1
        assert sim.token() not in out

        # The same events arrived on the stream and over REST: far more were handed over than stored.
        handed = int(summary[0].split(":", 2)[2].split()[0])
        sizes = await _table_sizes(database_url)
        assert handed > 0

        # Replay: forget every cursor and run again. Everything is read again; nothing new is inserted.
        conn = await asyncpg.connect(database_url)
        notif_cursor = await conn.fetchval("SELECT value FROM pulse.cursors WHERE name = 'notifications'")
        await conn.execute("DELETE FROM pulse.cursors")
        await conn.close()
        await ingester.start()
        assert await wait_for(lambda: _cursor(database_url, "notifications"), 60)
        assert await _cursor(database_url, "notifications") == notif_cursor
        await asyncio.sleep(2.0)
        assert await ingester.stop() == 0
        after = await _table_sizes(database_url)
        assert after["engagements"] == sizes["engagements"]
        assert {k: v for k, v in after.items() if k not in ("post_snapshots", "newest_row")} == {
            k: v for k, v in sizes.items() if k not in ("post_snapshots", "newest_row")
        }
        assert after["newest_row"] == sizes["newest_row"]
        assert await counts(database_url) == expected(truth)
