"""The full-TimescaleDB tier, executed: migrations, hypertables, continuous aggregates, jobs, and
one meaning for every KPI on every tier.

The TimescaleDB server is the PGlite test double of tools/timescale (TimescaleDB 2.23-dev in WASM,
timescale licence); plain PostgreSQL is the suite's usual server. The same events go through the
real sink into both, and every `kpi` view and function must then return the same rows on both.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from ingester.grafana import alerts
from ingester.grafana.build import dashboards
from ingester.grafana.macros import TimeRange, expand
from ingester.migrate import migrate, migration_files
from test_grafana_boards import options, run
from test_grafana_scenario import install_time_bucket_shim
from tier_scenario import CITY, resident, t, write
from timescale import AGGREGATES, TimescaleServer, run_all_jobs

from timescale import timescale_server, timescale_url  # noqa: F401  (fixtures)

EVENT_TABLES = ("statuses", "interactions", "edits", "post_snapshots", "heartbeats")
CHANNELS = (None, *CITY)
FORMATS = (None, "qa", "innovator_spotlight", "city_question", "other")
VOLATILE = {"waiting_seconds"}  # now() - replied_at: differs by the seconds between the two reads
# About the database, not the KPIs: TimescaleDB's background jobs exist on that tier only
# (tests/test_background_jobs.py compares their shape instead).
TIER_OWN_VIEWS = {"background_jobs"}
# jobs: each tier's scheduler; events: rows per ingestion time, and each database ingested the same events at
# its own moments (the panel counts the whole minutes its range touches, which may hold rows written after the
# range's end)
TIER_OWN_PANELS = {"pulse-health / jobs", "pulse-health / events"}
TIER_OWN_RULES = {"pulse-background-jobs"}


def ranges(now: datetime) -> list[tuple[datetime, datetime]]:
    return [
        (t(3, 1, 0), t(12, 31, 0)),  # everything
        (t(3, 28, 23), t(3, 29, 22)),  # local 2026-03-29: 23 hours
        (t(10, 24, 22), t(10, 25, 23)),  # local 2026-10-25: 25 hours
        (t(10, 23, 22), t(10, 26, 23)),  # three local days around the fall-back night
        (t(10, 25, 0, 45), t(10, 25, 2, 15)),  # partial hours inside the doubled local hour
        (now - timedelta(days=7), now),  # the last week: replies not judged yet (72 h)
    ]


def kpi_queries(conn: psycopg.Connection, now: datetime) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every kpi view in full, and every kpi function over ranges x channels x formats/periods."""
    views = conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'kpi' ORDER BY 1"
    ).fetchall()
    for (view,) in views:
        if view in TIER_OWN_VIEWS:
            continue
        cols = [c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'kpi' AND table_name = %s"
            " ORDER BY ordinal_position", (view,)).fetchall() if c not in VOLATILE]
        yield f"SELECT {', '.join(cols)} FROM kpi.{view}", ()
    functions = {f for (f,) in conn.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'kpi'"
    ).fetchall()}
    assert functions == {"summary", "accounts_daily", "activity", "engagement_series", "participants"}, (
        f"kpi functions changed: {functions}")
    for lo, hi in ranges(now):
        for ch in CHANNELS:
            for fmt in FORMATS:
                yield "SELECT * FROM kpi.summary(%s, %s, %s, %s)", (lo, hi, ch, fmt)
                yield "SELECT * FROM kpi.accounts_daily(%s, %s, %s, %s)", (lo, hi, ch, fmt)
            for period in ("hour", "day", "week"):
                yield "SELECT * FROM kpi.activity(%s, %s, %s, %s)", (lo, hi, period, ch)
            for bucket in (None, "1 minute", "2 hours"):  # the whole range, minutes, whole hours (rollups)
                yield "SELECT * FROM kpi.engagement_series(%s, %s, %s, %s)", (lo, hi, bucket, ch)
            yield "SELECT kpi.participants(%s, %s, %s)", (lo, hi, ch)


def _utc(value: Any) -> Any:
    # Instants in UTC: the test double does not report `SET TimeZone` back to the driver (psycopg
    # then labels its timestamps GMT), and Python never finds an ambiguous local time (the doubled
    # hour of a fall-back night) equal to the same instant labelled in another zone.
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def rows_of(conn: psycopg.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """All rows, ordered by every column (the tiers may return ties in any order)."""
    ncols = len(conn.execute(f"SELECT * FROM ({sql}) q LIMIT 0", params).description or ())
    order = ", ".join(str(i) for i in range(1, ncols + 1))
    rows = conn.execute(f"SELECT * FROM ({sql}) q ORDER BY {order}", params).fetchall()
    return [tuple(_utc(v) for v in row) for row in rows]


def session(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET TimeZone = 'Europe/Amsterdam'")  # what data staff are told to use
    return conn


def assert_same_kpis(postgres_url: str, timescale_url: str, now: datetime) -> int:
    """Compare every kpi query on both tiers, exactly; returns how many rows were compared."""
    compared = nonempty = 0
    # One connection each, held for the whole comparison: the TimescaleDB double serves one client.
    with session(postgres_url) as pg, session(timescale_url) as ts:
        for sql, params in kpi_queries(pg, now):
            want, got = rows_of(pg, sql, params), rows_of(ts, sql, params)
            assert got == want, f"tiers differ for {sql} {params}:\n postgres:  {want}\n timescale: {got}"
            compared += len(want)
            nonempty += any(v not in (None, 0) for row in want for v in row)
    assert nonempty > 150, f"too few queries saw data ({nonempty}): the comparison would prove little"
    return compared


def refresh_aggregates(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:  # CALL refresh_... refuses a transaction block
        for attempt in range(5):
            try:
                conn.execute("CALL pulse.refresh_aggregates(NULL, NULL)")
                return
            except psycopg.errors.LockNotAvailable:  # a real scheduler's policy refreshing the same aggregate
                if attempt == 4:
                    raise
                time.sleep(1 + attempt)


async def same_events_materialised(postgres_url: str, timescale_url: str, now: datetime) -> None:
    """The scenario written to both tiers; on TimescaleDB every job run (refresh policies, compression of
    old chunks) and the aggregates refreshed, as the background workers would have done by now."""
    await write(postgres_url, now, pool_size=1)
    await write(timescale_url, now, pool_size=1)
    run_all_jobs(timescale_url)
    for url in (postgres_url, timescale_url):  # TEST_DATABASE_URL may be a full TimescaleDB too
        refresh_aggregates(url)


def test_migrate_on_timescaledb_reports_the_full_tier_applies_every_migration_and_then_none(
    timescale_server: TimescaleServer,  # noqa: F811
) -> None:
    first = timescale_server.first_migrate
    assert first.tier.name == "timescale", first.tier
    assert first.tier.timescaledb_version is not None
    assert first.applied == [p.name for p in migration_files()]
    again = migrate(timescale_server.url)
    assert again.tier.name == "timescale"
    assert again.applied == []
    assert again.views == first.views


async def test_event_tables_are_hypertables_with_aggregates_and_policies_and_every_job_completes(
    timescale_url: str,  # noqa: F811
) -> None:
    now = datetime.now(UTC)
    await write(timescale_url, now, pool_size=1)
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        hyper = {h for (h,) in conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = 'pulse'"
        ).fetchall()}
        assert set(EVENT_TABLES) <= hyper
        caggs = dict(conn.execute(
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
            " WHERE view_schema = 'pulse'").fetchall())
        assert caggs == {name: False for name in AGGREGATES}  # real-time: the tail is never missing
        policies = set(conn.execute(
            "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs WHERE hypertable_schema = 'pulse'"
        ).fetchall())
        for table in ("statuses", "interactions", "post_snapshots"):
            assert {("policy_compression", table), ("policy_retention", table)} <= policies
        for cagg in AGGREGATES:
            assert ("policy_refresh_continuous_aggregate", cagg) in policies
        # The heartbeat retention policy is the service's: apply_retention() (re)installs it.
        conn.execute("SELECT * FROM pulse.apply_retention()")
        assert conn.execute(
            "SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'"
            " AND hypertable_schema = 'pulse' AND hypertable_name = 'heartbeats'").fetchone() == (1,)
    jobs = run_all_jobs(timescale_url)
    assert "refresh_aggregates_job" in jobs.values()
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        compressed = conn.execute(
            "SELECT count(*) FROM timescaledb_information.chunks"
            " WHERE hypertable_name = 'statuses' AND is_compressed").fetchone()
        assert compressed is not None and compressed[0] >= 1  # March is older than compress_after (60 days)
        materialised = conn.execute("SELECT count(*) FROM pulse.activity_statuses_1d WHERE bucket < %s",
                                    (now - timedelta(days=30),)).fetchone()
        assert materialised is not None and materialised[0] > 0


def pause_jobs(url: str) -> None:
    """Stop a real TimescaleDB's scheduler from running this database's jobs (TEST_DATABASE_URL may be
    one): a refresh it ran between two of the writes would leave the later delete in a materialised
    bucket until the next refresh, and this test is about the state before any refresh."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT pulse.tier()").fetchone() != ("timescale",):
            return
        conn.execute("SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs"
                     " WHERE job_id >= 1000")
        for _ in range(600):  # a job already running finishes first (seconds on this little data)
            if conn.execute("SELECT count(*) FROM timescaledb_information.job_stats"
                            " WHERE job_status = 'Running'").fetchone() == (0,):
                return
            time.sleep(0.1)


async def test_every_kpi_gives_the_same_rows_on_plain_postgresql_and_timescaledb_before_any_refresh(
    database_url: str, timescale_url: str  # noqa: F811
) -> None:
    pause_jobs(database_url)
    now = datetime.now(UTC)
    on_postgres = await write(database_url, now, pool_size=1)
    on_timescale = await write(timescale_url, now, pool_size=1)
    assert on_timescale == on_postgres  # the sink did the same work on both
    assert assert_same_kpis(database_url, timescale_url, now) > 1000


async def test_every_kpi_gives_the_same_rows_after_refresh_compression_and_late_changes(
    database_url: str, timescale_url: str  # noqa: F811
) -> None:
    now = datetime.now(UTC)
    await same_events_materialised(database_url, timescale_url, now)
    assert_same_kpis(database_url, timescale_url, now)

    # Late rows into materialised buckets and a compressed chunk: thread polling finding a March
    # reply, a delete of an October reply, a like for an old post. Refreshed as the jobs would.
    late = """
        INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, in_reply_to_id,
                                    thread_root_id, content, source)
        SELECT 'ams', '120000000000000001', %s, 'reply', %s, s.status_id, s.status_id, '<p>laat</p>', 'context'
          FROM pulse.statuses s WHERE s.channel = 'ams' AND s.relation = 'own_post' AND s.created_at = %s;
        INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id, account_key, source)
        SELECT 'ams', '120000000000000002', %s, 'favourite', s.status_id, %s, 'rest'
          FROM pulse.statuses s WHERE s.channel = 'ams' AND s.relation = 'own_post' AND s.created_at = %s;
        DELETE FROM pulse.statuses WHERE channel = 'ams' AND created_at = %s;
    """
    params = (t(3, 29, 12), resident(20).key, t(3, 28, 22, 30), t(10, 26, 12), resident(21).key, t(10, 24, 20),
              t(10, 25, 12))
    for url in (database_url, timescale_url):
        with psycopg.connect(url, autocommit=True) as conn:
            for stmt, args in zip(late.split(";")[:3], (params[:3], params[3:6], params[6:])):
                conn.execute(stmt, args)
    for url in (database_url, timescale_url):  # a no-op on plain PostgreSQL
        refresh_aggregates(url)
    assert_same_kpis(database_url, timescale_url, now)


# A panel reading these depends on the moment it runs: now() itself, or kpi.unanswered.waiting_seconds.
CLOCK_READERS = ("now()", "waiting")


def board_results(conn: psycopg.Connection, rng: TimeRange) -> dict[str, tuple[bool, list[tuple[Any, ...]]]]:
    """Every panel of every board, as Grafana would run it over `rng` with its default variables:
    "uid / key" -> (whether the query reads the clock, its rows in a stable order). One language: the
    languages' SQL differs only in text literals (tests/test_grafana_languages.py)."""
    out: dict[str, tuple[bool, list[tuple[Any, ...]]]] = {}
    for board in dashboards():
        variables = options(conn, board, rng, {})
        for panel in board.panels:
            sql = expand(panel.query.sql, rng, variables=variables, interval=timedelta(hours=1)).sql
            cols, rows = run(conn, sql)
            out[f"{board.uid} / {panel.key}"] = (
                any(clock in sql.lower() for clock in CLOCK_READERS), sorted((tuple(_utc(v) for v in row) for row in rows), key=repr))
    return out


def same_rows(want: list[tuple[Any, ...]], got: list[tuple[Any, ...]], *, clock_slack: float) -> bool:
    """Equal rows; numbers may differ by `clock_slack` (seconds between the two tiers' reads of now())."""
    def close(a: Any, b: Any) -> bool:
        if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)) and clock_slack:
            return abs(float(a) - float(b)) <= clock_slack
        return bool(a == b)
    return len(want) == len(got) and all(
        len(w) == len(g) and all(close(a, b) for a, b in zip(w, g)) for w, g in zip(want, got))


async def test_every_dashboard_panel_and_alert_query_gives_the_same_rows_on_both_tiers(
    database_url: str, timescale_url: str  # noqa: F811
) -> None:
    now = datetime.now(UTC)
    await same_events_materialised(database_url, timescale_url, now)  # boards read the aggregates, as in production
    install_time_bucket_shim(database_url)  # Grafana's timescaledb: true emits time_bucket(); plain PG lacks it
    rng = TimeRange(t(3, 1, 0), now)  # the whole scenario, DST days included
    with session(database_url) as pg, session(timescale_url) as ts:
        want, got = board_results(pg, rng), board_results(ts, rng)
        assert sum(bool(rows) for _, rows in want.values()) > len(want) // 2  # most panels see data
        for key, (clock, rows) in want.items():
            if key in TIER_OWN_PANELS:
                continue
            slack = 60.0 if clock else 0.0  # e.g. "longest wait" = now() - the oldest unanswered reply
            assert same_rows(rows, got[key][1], clock_slack=slack), (
                f"{key}:\n postgres:  {rows}\n timescale: {got[key][1]}")
        for rule in (r for r in alerts.rules() if r.uid not in TIER_OWN_RULES):  # the last minutes: same shape
            sql = expand(rule.sql, TimeRange(now - timedelta(minutes=10), now)).sql
            (pg_cols, pg_rows), (ts_cols, ts_rows) = run(pg, sql), run(ts, sql)
            assert (ts_cols, len(ts_rows)) == (pg_cols, len(pg_rows)), rule.uid
