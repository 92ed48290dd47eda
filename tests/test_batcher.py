"""The batcher: order-preserving batches by size or age, a flush barrier, retries that lose nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import asyncpg
import pytest

from ingester.batcher import Batcher
from ingester.events import Relation
from ingester.sink import AnyEvent, CursorMark, Sink, Staged, WriteResult
from test_sink import CH, MENTION, POST, favourite, reply


class RecordingSink(Sink):
    """The real sink, remembering what each committed write contained (a decorator, not a mock)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.writes: list[list[AnyEvent | CursorMark]] = []

    async def write(
        self, events: Sequence[AnyEvent], cursors: Sequence[CursorMark] = (), *, staged: Staged | None = None
    ) -> WriteResult:
        result = await super().write(events, cursors, staged=staged)
        self.writes.append([*events, *cursors])
        return result


class Tally:
    """Counts what the batcher reports to its observer (the metrics object in the service)."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0

    def db_write_ok(self) -> None:
        self.ok += 1

    def db_write_failed(self) -> None:
        self.failed += 1


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        yield p
    finally:
        await p.close()


def replies(n: int, start: int = 5000) -> list[AnyEvent]:
    return [reply(str(start + i), POST, i, Relation.REPLY) for i in range(n)]


async def count(pool: asyncpg.Pool, table: str) -> int:
    return await pool.fetchval(f"SELECT count(*) FROM pulse.{table}")


async def eventually(pool: asyncpg.Pool, table: str, n: int, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while await count(pool, table) != n:
            await asyncio.sleep(0.01)


async def backends_once(
    admin: asyncpg.Connection, ready: Callable[[list[asyncpg.Record]], bool], timeout: float = 10.0
) -> list[asyncpg.Record]:
    """The other backends of this database (pid, state, wait_event_type), polled until `ready` says so."""
    async with asyncio.timeout(timeout):
        while True:
            await admin.execute("SELECT pg_stat_clear_snapshot()")  # fresh, even inside admin's transaction
            rows = await admin.fetch("""SELECT pid, state, wait_event_type FROM pg_stat_activity
                                         WHERE datname = current_database() AND pid <> pg_backend_pid()""")
            if ready(rows):
                return rows
            await asyncio.sleep(0.01)


async def test_a_full_batch_is_written_without_waiting_for_its_age(pool: asyncpg.Pool) -> None:
    batcher = Batcher(Sink(pool), batch_size=3, max_age=3600)
    task = asyncio.create_task(batcher.run())
    for ev in replies(3):
        await batcher.put(ev)
    await eventually(pool, "statuses", 3)
    await batcher.close()
    await task


async def test_a_partial_batch_is_written_once_it_is_old_enough(pool: asyncpg.Pool) -> None:
    batcher = Batcher(Sink(pool), batch_size=1000, max_age=0.05)
    task = asyncio.create_task(batcher.run())
    await batcher.put(POST)
    await eventually(pool, "statuses", 1)
    # the row is visible at COMMIT; the batcher counts the batch once the commit's reply is back
    for _ in range(200):
        if batcher.totals.batches:
            break
        await asyncio.sleep(0.01)
    assert batcher.totals.batches == 1
    await batcher.close()
    await task


async def test_flush_returns_only_after_everything_put_before_is_committed(pool: asyncpg.Pool) -> None:
    batcher = Batcher(Sink(pool), batch_size=1000, max_age=3600)
    task = asyncio.create_task(batcher.run())
    for ev in replies(7):
        await batcher.put(ev)
    await batcher.flush()
    assert await count(pool, "statuses") == 7
    await batcher.close()
    await task


async def test_a_cursor_is_never_committed_before_the_events_put_ahead_of_it(pool: asyncpg.Pool) -> None:
    sink = RecordingSink(pool)
    batcher = Batcher(sink, batch_size=2, max_age=3600)
    items: list[AnyEvent | CursorMark] = []
    for i, ev in enumerate(replies(5)):
        items += [ev, CursorMark(CH, "notifications", str(100 + i))]
    task = asyncio.create_task(batcher.run())
    for item in items:
        await batcher.put(item)
    await batcher.close()
    await task
    committed = [item for write in sink.writes for item in write]
    # Each write holds a contiguous run of the input; a cursor sits with or after its events.
    assert sorted(committed, key=items.index) == items
    position = {id(item): w for w, write in enumerate(sink.writes) for item in write}
    for i, item in enumerate(items):
        if isinstance(item, CursorMark):
            assert all(position[id(e)] <= position[id(item)] for e in items[:i])
    assert await pool.fetchval("SELECT value FROM pulse.cursors") == "104"


async def test_close_without_a_running_consumer_still_writes_everything(pool: asyncpg.Pool) -> None:
    batcher = Batcher(Sink(pool), batch_size=500, max_age=3600)
    await batcher.put(MENTION)
    await batcher.put(favourite("20", POST.status_id))
    totals = await batcher.close()
    assert (totals.rows.statuses, totals.rows.interactions, totals.items) == (1, 1, 2)


async def test_put_waits_while_the_queue_is_full(pool: asyncpg.Pool) -> None:
    batcher = Batcher(Sink(pool), batch_size=2, max_age=3600, queue_size=2)
    await batcher.put(POST)
    await batcher.put(MENTION)
    blocked = asyncio.create_task(batcher.put(favourite("20", POST.status_id)))
    await asyncio.sleep(0.05)
    assert not blocked.done() and batcher.depth() == 2
    task = asyncio.create_task(batcher.run())
    await blocked
    await batcher.close()
    await task
    assert await count(pool, "interactions") == 1


async def test_a_write_cut_off_by_a_killed_connection_is_retried_and_nothing_is_lost_or_doubled(
    pool: asyncpg.Pool, database_url: str
) -> None:
    tally = Tally()
    batcher = Batcher(Sink(pool), batch_size=1000, max_age=3600, retry_max_wait=0.05, observer=tally)
    task = asyncio.create_task(batcher.run())
    first = replies(3)
    for ev in first:
        await batcher.put(ev)
    await batcher.flush()
    admin = await asyncpg.connect(database_url)
    try:
        # Hold the statuses table so the next write stops mid-transaction, then kill its backend.
        locker = admin.transaction()
        await locker.start()
        await admin.execute("LOCK TABLE pulse.statuses IN ACCESS EXCLUSIVE MODE")
        for ev in [*first, *replies(4, start=6000), CursorMark(CH, "notifications", "77")]:
            await batcher.put(ev)  # the first three again: a repeat must not double them
        flushed = asyncio.create_task(batcher.flush())
        rows = await backends_once(admin, lambda rows: any(r["wait_event_type"] == "Lock" for r in rows))
        await admin.fetchval("SELECT pg_terminate_backend($1)", next(r["pid"] for r in rows if r["wait_event_type"] == "Lock"))
        await locker.commit()
        await asyncio.wait_for(flushed, 10)
    finally:
        await admin.close()
    await batcher.close()
    await task
    assert batcher.totals.retries >= 1 and tally.failed == batcher.totals.retries
    assert tally.ok == batcher.totals.batches == 2
    assert await count(pool, "statuses") == 7
    assert await pool.fetchval("SELECT value FROM pulse.cursors") == "77"


async def test_the_next_batch_is_staged_while_the_one_before_commits_and_a_cut_off_staged_batch_is_written_again(
    pool: asyncpg.Pool, database_url: str
) -> None:
    tally = Tally()
    batcher = Batcher(Sink(pool), batch_size=3, max_age=3600, retry_max_wait=0.05, observer=tally)
    task = asyncio.create_task(batcher.run())
    admin = await asyncpg.connect(database_url)
    try:
        locker = admin.transaction()
        await locker.start()
        await admin.execute("LOCK TABLE pulse.statuses IN ACCESS EXCLUSIVE MODE")
        for ev in replies(6):  # two batches of three
            await batcher.put(ev)
        await batcher.put(CursorMark(CH, "notifications", "88"))
        flushed = asyncio.create_task(batcher.flush())
        # Batch 1 waits for the lock in its apply; batch 2 is staged meanwhile, on a second connection
        # with its own open transaction (only temporary rows so far: it waits for no lock).
        rows = await backends_once(admin, lambda rows: any(r["wait_event_type"] == "Lock" for r in rows)
                                   and any(r["state"] == "idle in transaction" for r in rows))
        staged = next(r["pid"] for r in rows if r["state"] == "idle in transaction")
        assert await admin.fetchval("SELECT count(*) FROM pulse.statuses") == 0  # nothing committed yet
        await admin.fetchval("SELECT pg_terminate_backend($1)", staged)  # cut the staged batch off
        await locker.commit()
        await asyncio.wait_for(flushed, 10)
    finally:
        await admin.close()
    await batcher.close()
    await task
    assert batcher.totals.retries >= 1 and tally.failed == batcher.totals.retries
    assert await count(pool, "statuses") == 6
    assert await pool.fetchval("SELECT count(DISTINCT status_id) FROM pulse.statuses") == 6
    assert await pool.fetchval("SELECT value FROM pulse.cursors") == "88"


async def test_an_event_the_database_rejects_becomes_a_dead_letter_and_the_rest_is_stored(pool: asyncpg.Pool) -> None:
    # A real content error from PostgreSQL (check_violation) for exactly one event of the batch.
    await pool.execute("ALTER TABLE pulse.statuses ADD CONSTRAINT no_5003 CHECK (status_id <> '5003')")
    batcher = Batcher(Sink(pool), batch_size=1000, max_age=3600, retry_max_wait=0.05)
    for ev in [*replies(6), CursorMark(CH, "notifications", "99")]:
        await batcher.put(ev)
    totals = await batcher.close()
    stored = [r["status_id"] for r in await pool.fetch("SELECT status_id FROM pulse.statuses ORDER BY 1")]
    dead = await pool.fetchrow("SELECT reason, payload FROM pulse.dead_letters")
    assert stored == ["5000", "5001", "5002", "5004", "5005"]
    assert "23514" in dead["reason"] and '"status_id":"5003"' in dead["payload"]
    assert await pool.fetchval("SELECT value FROM pulse.cursors") == "99"
    assert (totals.rejected, totals.retries) == (1, 0)


async def test_items_spilled_to_the_disk_spool_are_written_in_order(pool: asyncpg.Pool, tmp_path) -> None:
    from ingester.spool import Spool

    spool = Spool(memory_items=2, path=tmp_path / "spool.jsonl")
    sink = RecordingSink(pool)
    batcher = Batcher(sink, batch_size=1000, max_age=3600, queue=spool)
    items: list[AnyEvent | CursorMark] = [*replies(4), CursorMark(CH, "notifications", "42"), MENTION]
    for item in items:
        await batcher.put(item)  # no consumer yet: everything after the first two goes to disk
    assert spool.disk_items() == 4
    await batcher.close()
    # One write; RecordingSink lists its events first, then its cursors.
    assert [item for write in sink.writes for item in write] == [*items[:4], items[5], items[4]]
    assert await count(pool, "statuses") == 5
