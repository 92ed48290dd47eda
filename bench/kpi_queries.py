"""Every query bench/kpi.py times, each with its raw twin, and the check that both answer the same.

The queries: the ones in issue #11's table (with channel 'ams'), and every panel, variable,
annotation and alert query of the four Grafana boards, expanded the way Grafana expands them
(ingester/grafana/macros.py) for the board's default range and for 90 days, with the board's
default variables (Grafana's first option: "All" for channel and format, the newest post, the
newest Q&A session). A query's raw twin is the same SQL with `kpi.` replaced by `kpi_raw.`:
bench/raw_kpi.sql defines there, straight from the events, everything the kpi schema had before
the rollups.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from ingester.grafana import alerts
from ingester.grafana.build import dashboards
from ingester.grafana.macros import TimeRange, Variable, expand
from ingester.grafana.model import Dashboard

RAW_SQL = Path(__file__).resolve().parent / "raw_kpi.sql"
# `kpi.` as a schema name: not part of a longer name (pulse_kpi.x) or of a qualified one (a.kpi.x)
_KPI = re.compile(r"(?<![\w.\"])kpi\.")
BOARD_SPANS = {"now-7d": timedelta(days=7), "now-3h": timedelta(hours=3), "now-6h": timedelta(hours=6)}
NINETY_DAYS = timedelta(days=90)
ALERT_SPAN = timedelta(minutes=10)  # the rules' relativeTimeRange (alerts.Rule.to_provisioning)
# Grafana's interval ladder (roundInterval); the interval is the range over ~1000 points (panel width)
_LADDER = [timedelta(seconds=s) for s in (10, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200,
                                          10800, 21600, 43200, 86400)]


@dataclass(frozen=True)
class BenchQuery:
    name: str  # what is printed and what --only matches
    span: timedelta  # the time range it covers (the 20x target applies from 30 days on)
    sql: str  # as the boards send it: reads kpi.*
    ranged: bool = True  # False: the same SQL for every range (a variable, one post's figures)

    @property
    def raw(self) -> str:
        return to_raw(self.sql)

    @property
    def reads_kpi(self) -> bool:
        """False for queries of pulse.* alone (heartbeats): nothing to compare with raw."""
        return self.raw != self.sql

    @property
    def long_range(self) -> bool:
        return self.ranged and self.reads_kpi and self.span >= timedelta(days=30)


# kpi objects that read no events (TimescaleDB's own job statistics): they stay as they are
NOT_FROM_EVENTS = ("background_jobs",)


def to_raw(sql: str) -> str:
    return _KPI.sub(lambda m: m.group(0) if sql[m.end():].startswith(NOT_FROM_EVENTS) else "kpi_raw.", sql)


def load_raw(conn: psycopg.Connection) -> None:
    """(Re)create schema kpi_raw from bench/raw_kpi.sql (autocommit connection)."""
    conn.execute("DROP SCHEMA IF EXISTS kpi_raw CASCADE")
    conn.execute("CREATE SCHEMA kpi_raw")
    conn.execute(RAW_SQL.read_text(encoding="utf-8").encode())


def label(span: timedelta) -> str:
    if span % timedelta(days=1) == timedelta(0):
        return f"{span // timedelta(days=1)}d"
    if span % timedelta(hours=1) == timedelta(0):
        return f"{span // timedelta(hours=1)}h"
    return f"{span // timedelta(minutes=1)}m"


def grafana_interval(span: timedelta) -> timedelta:
    """$__interval for a panel about 1000 pixels wide, rounded up Grafana's ladder."""
    wanted = span / 1000
    return next((step for step in _LADDER if step >= wanted), _LADDER[-1])


def issue_queries() -> list[BenchQuery]:
    """The table of issue #11 (channel ams), plus kpi.accounts_daily over 90 days."""
    out = []
    for days in (1, 7, 30):
        rng = "24 hours" if days == 1 else f"{days} days"
        out.append(BenchQuery(f"summary {'24h' if days == 1 else f'{days}d'}", timedelta(days=days),
                              f"SELECT * FROM kpi.summary(now() - interval '{rng}', now(), 'ams')"))
    for view, spans in (("activity_hourly", ((1, "24h"), (7, "7d"))), ("activity_daily", ((30, "30d"), (90, "90d")))):
        for days, name in spans:
            out.append(BenchQuery(f"{view} {name}", timedelta(days=days),
                                  f"SELECT * FROM kpi.{view} WHERE channel = 'ams' AND bucket >= now() - interval "
                                  f"'{days} days'"))
    out.append(BenchQuery("post_stats 7d", timedelta(days=7),
                          "SELECT * FROM kpi.post_stats WHERE channel = 'ams' AND posted_at >= now() - interval '7 days'"))
    out.append(BenchQuery("accounts_daily 90d", NINETY_DAYS,
                          "SELECT * FROM kpi.accounts_daily(now() - interval '90 days', now(), 'ams')"))
    return out


def run(conn: psycopg.Connection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """As Grafana sends it: one statement, no client-side parameters."""
    cur = conn.execute(sql.encode())
    return [d.name for d in cur.description or ()], cur.fetchall()


def variables(conn: psycopg.Connection, board: Dashboard, rng: TimeRange) -> list[Variable]:
    """Each variable's own query, run as Grafana runs it on load; its default selection: "All" when
    offered, else the first option (Grafana's choice for a variable with no saved value)."""
    out: list[Variable] = []
    for v in board.variables:
        cols, rows = run(conn, expand(v.sql, rng, variables=out).sql)
        idx = cols.index("__value") if "__value" in cols else 0
        values = tuple(str(r[idx]) for r in rows)
        if v.include_all:
            out.append(Variable(v.name, values, v.multi, v.include_all, v.all_value, is_all=True))
        else:
            out.append(Variable(v.name, values[:1] or ("",), v.multi, v.include_all, v.all_value))
    return out


def board_queries(conn: psycopg.Connection, now: datetime, timescaledb: bool) -> list[BenchQuery]:
    """Every variable, annotation and panel query of the four boards, for each board's default range
    and for 90 days; variables are resolved on `conn` (the kpi schema at hand). A query without time
    macros is the same SQL for every range: listed once, as "any"."""
    out = []
    for board in dashboards():
        board_name = board.uid.removeprefix("pulse-")
        spans = list(dict.fromkeys((BOARD_SPANS[board.time_from], NINETY_DAYS)))
        for span in spans:
            rng = TimeRange.last(span, now)
            interval = grafana_interval(span)
            chosen = variables(conn, board, rng)
            # (name, template, variables it sees): each variable sees the ones before it, as in Grafana
            templates = [(f"${v.name}", v.sql, chosen[:i]) for i, v in enumerate(board.variables)]
            templates += [("annotation", a.sql, chosen) for a in board.annotations]
            templates += [(p.key, p.query.sql, chosen) for p in board.panels]
            for key, template, seen in templates:
                ranged = "$__" in template
                if not ranged and span != spans[0]:
                    continue
                sql = expand(template, rng, variables=seen, interval=interval, timescaledb=timescaledb).sql
                out.append(BenchQuery(f"{board_name} / {key} {label(span) if ranged else 'any'}", span, sql, ranged))
    return out


def alert_queries(now: datetime) -> list[BenchQuery]:
    """The alert rules' queries (they read now() themselves; the range does not change them)."""
    rng = TimeRange.last(ALERT_SPAN, now)
    return [BenchQuery(f"alert / {r.uid.removeprefix('pulse-')}", ALERT_SPAN, expand(r.sql, rng).sql, False)
            for r in alerts.rules()]


def _same(a: Any, b: Any) -> bool:
    # float8 results (avg, percentile_cont) may differ in the last bit when summed in another order
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal)):
        return Decimal(a) == Decimal(b)
    return bool(a == b)


def difference(want: tuple[list[str], list[tuple[Any, ...]]],
               got: tuple[list[str], list[tuple[Any, ...]]]) -> str | None:
    """None when both answers are the same (columns, and rows in any order), else what differs."""
    (wc, wr), (gc, gr) = want, got
    if wc != gc:
        return f"columns {gc} != raw {wc}"
    if len(wr) != len(gr):
        return f"{len(gr)} rows != raw {len(wr)}"
    ws, gs = sorted(wr, key=repr), sorted(gr, key=repr)
    for w, g in zip(ws, gs):
        if len(w) != len(g) or not all(_same(x, y) for x, y in zip(w, g)):
            return f"row {g!r} != raw {w!r}"
    return None


def compare(conn: psycopg.Connection, q: BenchQuery) -> str | None:
    """Both versions in one transaction (the same now() for both): None when they agree."""
    with conn.transaction():
        answer = run(conn, q.sql)
        raw = run(conn, q.raw)
    return difference(raw, answer)
