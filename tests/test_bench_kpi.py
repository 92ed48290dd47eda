"""bench/kpi.py measures every board, variable, annotation and alert query against the same answer
from raw events (schema kpi_raw, bench/raw_kpi.sql), and the two agree on the bench's own world."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ingester.grafana import alerts
from ingester.grafana.build import dashboards

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import kpi_queries  # noqa: E402
import kpi_world  # noqa: E402

# What kpi_raw may read besides itself: the event tables, the tables the boards show as they are,
# and settings. Never pulse.activity_* (continuous aggregates), pulse.account_first_seen or a rollup.
RAW_SOURCES = {"statuses", "interactions", "post_snapshots", "accounts", "entry_counts", "data_origin", "formats",
               "config"}


@contextmanager
def compression_paused(conn: psycopg.Connection) -> Iterator[None]:
    """Full TimescaleDB's compression policies paused while old history is loaded, then running again.

    The bench world is 90 days written at once, most of it into chunks past compress_after, and then
    materialised. A real server's scheduler starts every job of a new database at once: its compression
    policy compressed a chunk of pulse.statuses while the load was writing into it, and the load died in a
    deadlock (40P01). Pausing the compression policy for a backfill is TimescaleDB's own advice. Nothing to
    pause on the other tiers (no jobs there)."""
    paused: list[int] = []
    if conn.execute("SELECT pulse.tier()").fetchone() == ("timescale",):
        paused = [int(r[0]) for r in conn.execute(
            "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND scheduled")]
        for job in paused:
            conn.execute("SELECT alter_job(%s, scheduled => false)", (job,))
        deadline = time.monotonic() + 120  # a run already under way ends first (seconds on this little data)
        while conn.execute("SELECT count(*) FROM timescaledb_information.job_stats"
                           " WHERE job_id = ANY(%s) AND job_status = 'Running'", (paused,)).fetchone() != (0,):
            assert time.monotonic() < deadline, "a compression policy kept running"
            time.sleep(0.1)
    try:
        yield
    finally:
        for job in paused:
            conn.execute("SELECT alter_job(%s, scheduled => true)", (job,))


@pytest.fixture
def bench_world(database_url: str) -> tuple[str, list[kpi_queries.BenchQuery]]:
    """The bench's world at a tiny scale, kpi_raw loaded, and every query the bench would time."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        with compression_paused(conn):
            kpi_world.generate(conn, 0.002)
            conn.execute("CALL pulse.refresh_aggregates()")
        kpi_queries.load_raw(conn)
        timescaledb = conn.execute("SELECT pulse.tier()").fetchone()[0] != "postgres"  # type: ignore[index]
        now = datetime.now(UTC)
        queries = (kpi_queries.issue_queries() + kpi_queries.board_queries(conn, now, timescaledb)
                   + kpi_queries.alert_queries(now))
    return database_url, queries


def test_every_panel_variable_annotation_and_alert_query_is_benchmarked_for_the_default_range_and_90_days(
    bench_world: tuple[str, list[kpi_queries.BenchQuery]],
) -> None:
    _, queries = bench_world
    names = [q.name for q in queries]
    assert len(names) == len(set(names))
    want = []
    for board in dashboards():
        default = kpi_queries.label(kpi_queries.BOARD_SPANS[board.time_from])
        items = [(f"${v.name}", v.sql) for v in board.variables] + [("annotation", a.sql) for a in board.annotations]
        for key, sql in items + [(p.key, p.query.sql) for p in board.panels]:
            prefix = f"{board.uid.removeprefix('pulse-')} / {key}"
            want += [f"{prefix} {default}", f"{prefix} 90d"] if "$__" in sql else [f"{prefix} any"]
    want += [f"alert / {r.uid.removeprefix('pulse-')}" for r in alerts.rules()]
    assert set(want) <= set(names), sorted(set(want) - set(names))
    assert {"summary 30d", "activity_daily 90d", "post_stats 7d", "accounts_daily 90d"} <= set(names)
    assert len(names) == len(want) + len(kpi_queries.issue_queries())


def test_every_query_reading_kpi_gives_the_same_rows_from_raw_events(
    bench_world: tuple[str, list[kpi_queries.BenchQuery]],
) -> None:
    url, queries = bench_world
    with psycopg.connect(url, autocommit=True) as conn:
        differ = {q.name: d for q in queries if q.reads_kpi and (d := kpi_queries.compare(conn, q)) is not None}
        assert not differ
        # equal because there is something to compare: the world gives almost every query rows
        empty = [q.name for q in queries if not kpi_queries.run(conn, q.sql)[1]]
    assert len(empty) <= len(queries) // 10, empty
    assert sum(q.reads_kpi for q in queries) >= 0.75 * len(queries)


def test_a_changed_answer_is_reported_as_a_difference() -> None:
    cols = ["day", "new_accounts"]
    assert kpi_queries.difference((cols, [(1, 5), (2, 3)]), (cols, [(2, 3), (1, 5)])) is None  # any order
    assert kpi_queries.difference((cols, [(1, 5), (2, 3)]), (cols, [(1, 5), (2, 4)])) is not None
    assert kpi_queries.difference((cols, [(1, 5)]), (cols, [(1, 5), (1, 5)])) is not None
    assert kpi_queries.difference((cols, [(1, 0.5)]), (["day", "returning"], [(1, 0.5)])) is not None


def test_the_raw_twin_replaces_only_the_kpi_schema() -> None:
    sql = "SELECT k.kpi, x.kpi.y FROM kpi.summary(now(), now()) k, pulse_kpi.t, kpi.post_stats p"
    assert kpi_queries.to_raw(sql) == (
        "SELECT k.kpi, x.kpi.y FROM kpi_raw.summary(now(), now()) k, pulse_kpi.t, kpi_raw.post_stats p")


def test_kpi_raw_reads_only_events_and_settings_never_an_aggregate_or_rollup(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        kpi_queries.load_raw(conn)
        views = conn.execute("""
            SELECT DISTINCT n.nspname, c.relname
              FROM pg_rewrite r JOIN pg_class v ON v.oid = r.ev_class
              JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                              AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid
              JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE v.relnamespace = 'kpi_raw'::regnamespace""").fetchall()
        functions = conn.execute("""
            SELECT p.prosrc FROM pg_proc p WHERE p.pronamespace = 'kpi_raw'::regnamespace""").fetchall()
    read = {f"{s}.{t}" for s, t in views}
    read |= {m for (src,) in functions for m in re.findall(r"\b(?:pulse|kpi)\.\w+", src)}
    assert {r for r in read if not r.startswith("kpi_raw.")} <= {f"pulse.{t}" for t in RAW_SOURCES}, read
    assert {"pulse.statuses", "pulse.interactions", "pulse.post_snapshots"} <= read
