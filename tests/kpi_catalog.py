"""Every KPI of a database, read from its catalog: each relation in schema `kpi` in full and each `kpi`
function over ranges x channels x formats x periods, so that a view or function added later is compared
too. No tests here: tests/test_upgrade.py and tests/test_migrate_while_ingesting.py import `kpis`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tier_scenario import CITY, t

# Columns that read the clock (now() - replied_at): they differ by the seconds between two reads.
VOLATILE = {"waiting_seconds"}
# kpi.background_jobs on full TimescaleDB: the scheduler's bookkeeping of each database (job and materialised
# hypertable ids, when each job ran and how often, how far it got) differs between any two databases however
# equal their events; which jobs exist, on what schedule, is compared.
SCHEDULER_STATE = {"background_jobs": {
    "job_id", "relation", "last_run_status", "last_run_started_at", "last_successful_finish", "consecutive_failures",
    "total_runs", "total_failures", "next_start", "last_error", "materialized_until", "lag", "failing", "lagging"}}
# The values each kind of kpi function parameter is called with; `p_from`/`p_to` come from RANGES.
ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "p_channel": (None, *CITY),
    "p_format": (None, "qa", "innovator_spotlight", "city_question", "other"),
    "p_period": ("hour", "day", "week"),
    # kpi.engagement_series: the whole range, a minute, whole hours (the rollups)
    "p_bucket": (None, "1 minute", "2 hours"),
}


def ranges(now: datetime) -> list[tuple[datetime, datetime]]:
    return [
        (t(3, 1, 0), now + timedelta(days=1)),  # everything
        (t(3, 28, 23), t(3, 29, 22)),  # local 2026-03-29: 23 hours
        (t(10, 24, 22), t(10, 25, 23)),  # local 2026-10-25: 25 hours
        (t(10, 23, 22), t(10, 26, 23)),  # three local days around the fall-back night
        (t(10, 25, 0, 45), t(10, 25, 2, 15)),  # partial hours inside the doubled local hour
        (now - timedelta(days=7), now),  # the last week: replies not judged yet (72 h)
    ]


def queries(conn: psycopg.Connection, now: datetime) -> Iterator[tuple[str, tuple[Any, ...]]]:
    relations = conn.execute(
        "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'kpi' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY c.relname").fetchall()
    for oid, name in relations:
        cols = [c for (c,) in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped"
            " ORDER BY attnum", (oid,)).fetchall() if c not in VOLATILE | SCHEDULER_STATE.get(name, set())]
        yield f"SELECT {', '.join(cols)} FROM kpi.{name}", ()
    # Input parameters only: a RETURNS TABLE function lists its output columns in proargnames too (mode 't').
    functions = conn.execute(
        "SELECT p.proname, array(SELECT a.name FROM unnest(p.proargnames, coalesce(p.proargmodes::text[],"
        "       array_fill('i'::text, ARRAY[cardinality(p.proargnames)]))) AS a(name, mode)"
        "       WHERE a.mode IN ('i', 'b', 'v'))"
        "  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'kpi' AND p.prokind = 'f' ORDER BY p.proname, p.oid").fetchall()
    for name, params in functions:
        inputs = [p for p in params if p not in ("p_from", "p_to")]
        unknown = [p for p in inputs if p not in ARGUMENTS]
        assert not unknown, f"kpi.{name}: no test values for {unknown}; add them to kpi_catalog.ARGUMENTS"
        placeholders = ", ".join(["%s"] * len(params))
        for lo, hi in ranges(now):
            for combo in itertools.product(*(ARGUMENTS[p] for p in inputs)):
                values = dict(zip(inputs, combo), p_from=lo, p_to=hi)
                yield f"SELECT * FROM kpi.{name}({placeholders})", tuple(values[p] for p in params)


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def rows_of(conn: psycopg.Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """All rows, ordered by every column (a rebuilt structure may return ties in another order)."""
    ncols = len(conn.execute(f"SELECT * FROM ({sql}) q LIMIT 0", params).description or ())
    order = ", ".join(str(i) for i in range(1, ncols + 1))
    rows = conn.execute(f"SELECT * FROM ({sql}) q ORDER BY {order}", params).fetchall()
    return [tuple(_utc(v) for v in row) for row in rows]


def kpis(url: str, now: datetime) -> dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every KPI of the database at `url`: (query, parameters) -> its rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'Europe/Amsterdam'")  # what data staff are told to use
        return {(sql, params): rows_of(conn, sql, params) for sql, params in list(queries(conn, now))}


def differences(want: dict[Any, list[Any]], got: dict[Any, list[Any]]) -> list[str]:
    """One line per KPI that is missing, new or different (empty when all are equal)."""
    out = [f"only before: {k[0]} {k[1]}" for k in want.keys() - got.keys()]
    out += [f"only after: {k[0]} {k[1]}" for k in got.keys() - want.keys()]
    out += [f"{k[0]} {k[1]}:\n  before: {want[k]}\n  after:  {got[k]}"
            for k in want.keys() & got.keys() if want[k] != got[k]]
    return sorted(out)


def seen(result: dict[Any, list[tuple[Any, ...]]]) -> int:
    """How many KPI queries saw data (a comparison of empty results would prove nothing)."""
    return sum(any(v not in (None, 0) for row in rows for v in row) for rows in result.values())
