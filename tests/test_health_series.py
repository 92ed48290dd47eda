"""pulse.ingest_series and pulse.heartbeat_series (schema/views/28_live_rollups.sql), which the Ingester
health board reads, against the panels' definitions computed from the rows stored (tests/live_oracle.py):
after random multi-row inserts, deletes and relation upgrades of events with their own ingestion times,
and heartbeats arriving in order, late, in batches, with gaps, counter restarts and missing readings,
then removed by retention, one by one and (as a TimescaleDB retention policy does) by dropping whole
days without any trigger. The per-minute/-hour rollups behind them (024_live_rollups.sql) are also
rebuilt from the rows, and give the same as the triggers kept.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import live_oracle as oracle
from timescale import timescale_server, timescale_url  # noqa: F401  (fixtures)

CHANNELS = ("ams", "zuid")
START = datetime(2026, 6, 1, 9, tzinfo=UTC)
SPAN = timedelta(days=2)
RELATIONS = ("own_post", "reply", "quote", "mention", "other")
WIDTHS = (timedelta(seconds=20), timedelta(minutes=1), timedelta(seconds=90), timedelta(minutes=10),
          timedelta(hours=1), timedelta(hours=2), timedelta(hours=3), timedelta(days=1))


def random_range(rng: random.Random) -> tuple[datetime, datetime]:
    lo = START + timedelta(seconds=rng.randrange(-7200, int(SPAN.total_seconds())), microseconds=rng.randrange(10**6))
    return lo, lo + timedelta(seconds=rng.choice((rng.randrange(30, 5400), rng.randrange(5400, 200_000))))


# -- events by ingestion time ---------------------------------------------------------------------------

class Events:
    """Statements on the event tables with explicit ingestion times (the sink's are now())."""

    def __init__(self, conn: psycopg.Connection, seed: int) -> None:
        self.conn, self.rng, self.n = conn, random.Random(seed), 0

    def _ingested(self) -> datetime:
        return START + timedelta(seconds=self.rng.randrange(int(SPAN.total_seconds())), microseconds=self.rng.randrange(10**6))

    def insert(self) -> None:
        at = self._ingested()  # one statement, one transaction: the rows share their ingestion time, mostly
        statuses, interactions = [], []
        for _ in range(self.rng.randint(1, 30)):
            self.n += 1
            when = at if self.rng.random() < 0.8 else self._ingested()
            ch = self.rng.choice(CHANNELS)
            if self.rng.random() < 0.5:
                statuses.append((ch, f"s{self.n}", when - timedelta(hours=1), self.rng.choice(RELATIONS), when))
            else:
                kind = self.rng.choice(("favourite", "reblog", "follow"))
                interactions.append((ch, f"n{self.n}", when - timedelta(hours=1), kind, when))
        if statuses:
            self.conn.execute("""INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                                                             source, ingested_at)
                                 SELECT c, s, t, r, 'a', 'stream', i FROM unnest(%s::text[], %s::text[],
                                        %s::timestamptz[], %s::text[], %s::timestamptz[]) AS u(c, s, t, r, i)""",
                              [list(x) for x in zip(*statuses)])
        if interactions:
            self.conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind,
                                                                 account_key, source, ingested_at)
                                 SELECT c, s, t, k, 'a', 'stream', i FROM unnest(%s::text[], %s::text[],
                                        %s::timestamptz[], %s::text[], %s::timestamptz[]) AS u(c, s, t, k, i)""",
                              [list(x) for x in zip(*interactions)])

    def delete(self) -> None:
        table = self.rng.choice(("statuses", "interactions"))
        key = "status_id" if table == "statuses" else "notification_id"
        self.conn.execute(f"""DELETE FROM pulse.{table} WHERE ({key}) IN (
                                SELECT {key} FROM pulse.{table} ORDER BY random() LIMIT {self.rng.randint(1, 5)})""")

    def upgrade(self) -> None:
        """The sink upgrading a stored status's relation (a mention found to be a reply, ...)."""
        self.conn.execute("""UPDATE pulse.statuses SET relation = 'reply'
                              WHERE status_id IN (SELECT status_id FROM pulse.statuses WHERE relation <> 'reply'
                                                   ORDER BY random() LIMIT 2)""")

    def step(self) -> None:
        self.rng.choices((self.insert, self.delete, self.upgrade), (6, 2, 1))[0]()


def ingest(conn: psycopg.Connection, lo: datetime, hi: datetime, width: timedelta,
           channel: str | None) -> dict[tuple[datetime, str], int]:
    return {(b, k): n for b, k, n in conn.execute(
        "SELECT * FROM pulse.ingest_series(%s, %s, %s, %s)", (lo, hi, width, channel)).fetchall()}


def counts(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT * FROM pulse.ingest_counts ORDER BY 1, 2, 3, 4").fetchall()


@pytest.mark.parametrize("seed", [1, 2])
def test_rows_written_per_bucket_equal_the_rows_stored_by_ingestion_time(database_url: str, seed: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        events = Events(conn, seed)
        for i in range(1, 181):
            events.step()
            if i % 60:
                continue
            for _ in range(6):
                lo, hi = random_range(events.rng)
                channel = events.rng.choice((None, *CHANNELS))
                for width in WIDTHS:
                    assert ingest(conn, lo, hi, width, channel) == oracle.ingest_series(conn, lo, hi, width, channel), (
                        lo, hi, width, channel)


def test_the_ingestion_counts_rebuilt_from_the_rows_are_those_the_triggers_kept(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        events = Events(conn, 3)
        for _ in range(150):
            events.step()
        kept = counts(conn)
        conn.execute("SELECT pulse.ingest_counts_rebuild()")
        assert counts(conn) == kept and kept


def test_emptying_an_event_table_leaves_the_counts_of_the_other(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        events = Events(conn, 4)
        for _ in range(60):
            events.insert()
        conn.execute("TRUNCATE pulse.interactions")
        kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM pulse.ingest_counts").fetchall()}
        assert kinds and kinds <= set(RELATIONS)
        lo, hi = START, START + SPAN
        assert ingest(conn, lo, hi, timedelta(hours=1), None) == oracle.ingest_series(conn, lo, hi, timedelta(hours=1), None)


# -- heartbeats -------------------------------------------------------------------------------------------

def heartbeat_rows(rng: random.Random, channel: str) -> list[tuple[Any, ...]]:
    """A channel's heartbeats over SPAN: mostly every 5 s, with pauses (over 5 minutes, over an hour),
    process restarts (counters from zero), missing lag and rate-limit readings, stream drops."""
    rows, at = [], START - timedelta(hours=2)
    runs = pages = reconnects = 0
    while at < START + SPAN:
        at += rng.choice((timedelta(seconds=5),) * 30 + (timedelta(seconds=17), timedelta(minutes=7),
                                                          timedelta(minutes=64), timedelta(hours=3)))
        if rng.random() < 0.005:
            runs, pages, reconnects = rng.randrange(3), 0, 0  # restarted
        runs += rng.random() < 0.1
        pages += rng.randrange(3) if rng.random() < 0.1 else 0
        reconnects += rng.random() < 0.02
        rows.append((channel, at + timedelta(microseconds=rng.randrange(10**6)), rng.random() > 0.03,
                     None if rng.random() < 0.05 else round(rng.uniform(0.1, 9.0), 3), runs, pages, reconnects,
                     rng.randrange(12), None if rng.random() < 0.1 else rng.randrange(300)))
    return rows


def insert_beats(conn: psycopg.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.execute("""INSERT INTO pulse.heartbeats (channel, at, stream_connected, lag_seconds, catchup_runs_total,
                                                  catchup_pages_total, reconnects_total, spool_depth, ratelimit_remaining)
                    SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::boolean[], %s::float8[], %s::bigint[],
                                         %s::bigint[], %s::bigint[], %s::int[], %s::int[])""",
                 [list(x) for x in zip(*rows)])


def fill_heartbeats(conn: psycopg.Connection, rng: random.Random, late_share: float = 0.0) -> None:
    """Mostly one heartbeat per statement, in order, as the ingester writes them, some in batches; and
    `late_share` of them held back and written late, out of order."""
    rows = sorted((r for ch in CHANNELS for r in heartbeat_rows(rng, ch)), key=lambda r: r[1])
    late = [r for r in rows if rng.random() < late_share]
    held = set(late)
    i = 0
    prompt = [r for r in rows if r not in held]
    while i < len(prompt):
        n = 1 if rng.random() < 0.7 else rng.randint(2, 40)
        insert_beats(conn, prompt[i:i + n])
        i += n
    rng.shuffle(late)
    for j in range(0, len(late), 25):
        insert_beats(conn, late[j:j + 25])


def beats_series(conn: psycopg.Connection, lo: datetime, hi: datetime, width: timedelta,
                 channel: str | None) -> dict[datetime, tuple[Any, ...]]:
    return {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT * FROM pulse.heartbeat_series(%s, %s, %s, %s)", (lo, hi, width, channel)).fetchall()}


def same(got: tuple[Any, ...], want: tuple[Any, ...]) -> bool:
    """Equal, floats to the last bits (an average summed in another order)."""
    return len(got) == len(want) and all(
        math.isclose(g, w, rel_tol=1e-12) if isinstance(w, float) and isinstance(g, float) else g == w
        for g, w in zip(got, want))


def assert_same_beats(conn: psycopg.Connection, rng: random.Random, tries: int = 8) -> None:
    rows = oracle.beats(conn)
    ranges = [(START - timedelta(hours=3), START + SPAN, None)]  # everything, then random ranges
    ranges += [(*random_range(rng), rng.choice((None, *CHANNELS))) for _ in range(tries)]
    for lo, hi, channel in ranges:
        for width in WIDTHS:
            got, want = beats_series(conn, lo, hi, width, channel), oracle.heartbeat_series(rows, lo, hi, width, channel)
            assert got.keys() == want.keys(), (lo, hi, width, channel)
            for bucket, values in want.items():
                assert same(got[bucket], values), (lo, hi, width, channel, bucket, got[bucket], values)


def hours(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT * FROM pulse.heartbeat_hours ORDER BY 1, 2").fetchall()


@pytest.mark.parametrize("late_share", [0.0, 0.25])
def test_the_heartbeat_figures_per_bucket_equal_the_heartbeats_in_order_or_late(
    database_url: str, late_share: float
) -> None:
    rng = random.Random(1)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        fill_heartbeats(conn, rng, late_share)
        assert_same_beats(conn, rng)
        kept = hours(conn)
        conn.execute("SELECT pulse.heartbeat_hours_rebuild()")
        assert hours(conn) == kept


def test_the_heartbeat_figures_follow_retention_single_deletes_and_updates(database_url: str) -> None:
    rng = random.Random(5)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        fill_heartbeats(conn, rng, 0.1)
        # retention: everything before a moment inside an hour
        conn.execute("DELETE FROM pulse.heartbeats WHERE at < %s", (START + timedelta(hours=5, minutes=17),))
        conn.execute("DELETE FROM pulse.heartbeats WHERE (channel, at) IN (SELECT channel, at FROM pulse.heartbeats"
                     " ORDER BY random() LIMIT 40)")
        conn.execute("UPDATE pulse.heartbeats SET lag_seconds = 42.5, catchup_runs_total = 0 WHERE (channel, at) IN"
                     " (SELECT channel, at FROM pulse.heartbeats ORDER BY random() LIMIT 20)")
        assert_same_beats(conn, rng)
        assert conn.execute("SELECT min(hour) FROM pulse.heartbeat_hours").fetchone() == (
            START + timedelta(hours=5),)


def test_hours_whose_heartbeats_were_dropped_without_a_trigger_are_not_read(database_url: str) -> None:
    """Full TimescaleDB's retention policy drops whole chunks (days), which fires no trigger."""
    rng = random.Random(6)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        fill_heartbeats(conn, rng)
        conn.execute("SET session_replication_role = replica")  # no triggers, as drop_chunks
        conn.execute("DELETE FROM pulse.heartbeats WHERE at < %s", (START + timedelta(days=1) - timedelta(hours=9),))
        conn.execute("SET session_replication_role = origin")
        assert_same_beats(conn, rng)
        conn.execute("DELETE FROM pulse.heartbeats WHERE at < %s", (START + timedelta(days=1),))  # retention
        assert conn.execute("SELECT min(hour) FROM pulse.heartbeat_hours").fetchone() == (START + timedelta(days=1),)


def test_on_full_timescaledb_the_rollups_follow_inserts_deletes_and_updates_alike(
    timescale_url: str  # noqa: F811
) -> None:
    # There event deletes fire row triggers (TimescaleDB refuses transition tables for a DELETE on
    # compressed chunks), and a hypertable's row triggers fire on its chunks.
    rng = random.Random(8)
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        events = Events(conn, 8)
        for _ in range(40):
            events.step()
        rows = [r for r in heartbeat_rows(rng, "ams") if r[1] < START + timedelta(hours=8)]
        for i in range(0, len(rows), 50):
            insert_beats(conn, rows[i:i + 50])
        conn.execute("DELETE FROM pulse.heartbeats WHERE at < %s", (START + timedelta(minutes=75),))
        lo, hi = START - timedelta(hours=3), START + SPAN
        for width in (timedelta(minutes=1), timedelta(hours=2)):
            assert ingest(conn, lo, hi, width, None) == oracle.ingest_series(conn, lo, hi, width, None)
            got, want = beats_series(conn, lo, hi, width, None), oracle.heartbeat_series(oracle.beats(conn), lo, hi, width, None)
            assert got.keys() == want.keys() and all(same(got[b], want[b]) for b in want)
