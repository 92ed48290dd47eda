"""Plain PostgreSQL behind Grafana: with the datasource's TimescaleDB flag off (what `grafana push` sets
on that tier), every panel and alert query, expanded as Grafana expands it, runs without time_bucket()
and gives the same rows as with the flag on (the TimescaleDB side: tests/test_timescale_tier.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from test_grafana_boards import SPANS, check_frame, options, run
from test_grafana_scenario import live_database

from ingester.grafana import alerts
from ingester.grafana.build import dashboards
from ingester.grafana.macros import TimeRange, expand


def as_grafana_reads(cols: list[str], rows: list[tuple[Any, ...]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Grafana reads a numeric `time` column as UNIX epoch seconds (what `$__timeGroup` gives with the flag
    off: floor(extract(epoch ...)/n)*n); turn it into the timestamp Grafana plots."""
    if "time" not in cols:
        return cols, rows
    t = cols.index("time")

    def fix(v: Any) -> Any:
        return datetime.fromtimestamp(float(v), UTC) if isinstance(v, (int, float, Decimal)) else v

    return cols, [tuple(fix(v) if i == t else v for i, v in enumerate(row)) for row in rows]


def every_query(url: str, *, timescaledb: bool, now: datetime) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for board in dashboards():
            rng = TimeRange(now - SPANS[board.time_from], now)
            variables = options(conn, board, rng, {})
            for panel in board.panels:
                sql = expand(panel.query.sql, rng, variables=variables, interval=timedelta(minutes=1),
                             timescaledb=timescaledb).sql
                assert ("time_bucket(" in sql) == (timescaledb and "$__timeGroup" in panel.query.sql), sql
                try:
                    cols, rows = as_grafana_reads(*run(conn, sql))
                except psycopg.Error as exc:
                    raise AssertionError(f"{board.uid} / {panel.key}: {exc}\n{sql}") from None
                check_frame(panel.query, cols, rows)
                out[f"{board.uid} / {panel.key}"] = (cols, sorted(rows, key=repr))
        for rule in alerts.rules():
            sql = expand(rule.sql, TimeRange(now - timedelta(minutes=10), now), timescaledb=timescaledb).sql
            cols, rows = as_grafana_reads(*run(conn, sql))
            out[f"alert {rule.uid}"] = (cols, sorted(rows, key=repr))
    return out


def reads_the_clock() -> set[str]:
    """Queries that read now() give values seconds apart between two runs (e.g. "longest wait")."""
    keys = {f"{b.uid} / {p.key}" for b in dashboards() for p in b.panels
            if "now()" in p.query.sql.lower() or "waiting" in p.query.sql.lower()}  # kpi.unanswered reads now()
    return keys | {f"alert {r.uid}" for r in alerts.rules() if "now()" in r.sql.lower()}


def same(want: tuple[list[str], list[tuple[Any, ...]]], got: tuple[list[str], list[tuple[Any, ...]]],
         *, slack: float) -> bool:
    def close(a: Any, b: Any) -> bool:
        if slack and isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
            return abs(float(a) - float(b)) <= slack
        return bool(a == b)

    return want[0] == got[0] and len(want[1]) == len(got[1]) and all(
        len(w) == len(g) and all(close(a, b) for a, b in zip(w, g)) for w, g in zip(want[1], got[1]))


def drop_time_bucket(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for (proc,) in conn.execute("SELECT oid::regprocedure::text FROM pg_proc WHERE proname = 'time_bucket'"):
            conn.execute(f"DROP FUNCTION {proc}")
        assert conn.execute("SELECT pulse.tier()").fetchone() == ("postgres",)


async def test_every_panel_and_alert_query_runs_on_plain_postgresql_with_the_timescaledb_flag_off(
    plain_database_url: str,
) -> None:
    database_url = plain_database_url  # plain tier even when TEST_DATABASE_URL's server has TimescaleDB
    await live_database(database_url)  # a busy scenario (it installs a time_bucket() stand-in)
    now = datetime.now(UTC)
    with_flag = every_query(database_url, timescaledb=True, now=now)
    clocked = reads_the_clock()
    drop_time_bucket(database_url)  # plain PostgreSQL as it is: no time_bucket() at all
    without_flag = every_query(database_url, timescaledb=False, now=now)
    assert without_flag.keys() == with_flag.keys()
    series = [key for key in with_flag if any("time" == c for c in with_flag[key][0])]
    assert len(series) >= 9  # the time-series panels that used to fail with the flag on
    differ = {key: (with_flag[key], got) for key, got in without_flag.items()
              if not same(with_flag[key], got, slack=60.0 if key in clocked else 0.0)}
    assert differ == {}
    assert sum(bool(rows) for _, rows in without_flag.values()) > len(without_flag) // 2  # most see data
