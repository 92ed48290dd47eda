"""The Live and Ingester health boards' figures computed in Python from the rows stored: the oracle the
functions of schema/views/28_live_rollups.sql are compared with (tests/test_live_series.py,
tests/test_health_series.py). Written from the panels' definitions (what each panel counted straight
from the rows before the rollups), not from the SQL. No tests here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from rollup_oracle import Engagement

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# kpi.engagement_series's columns, in order, as rollup_oracle names the kinds
SERIES_KINDS = ("replies", "mentions", "quotes", "favourites", "reblogs", "follows")


def bucket_of(at: datetime, width: timedelta | None) -> datetime:
    """Grafana's $__timeGroup: floor(epoch / width) * width, width at least a minute."""
    step = max(width or MINUTE, MINUTE) // timedelta(microseconds=1)
    return EPOCH + timedelta(microseconds=(at - EPOCH) // timedelta(microseconds=1) // step * step)


def engagement_series(rows: Iterable[Engagement], lo: datetime, hi: datetime, width: timedelta | None,
                      channel: str | None) -> dict[datetime, tuple[int, ...]]:
    """bucket -> counts per kind of the engagements in [lo, hi); width None: one bucket, `lo`."""
    out: dict[datetime, list[int]] = defaultdict(lambda: [0] * len(SERIES_KINDS))
    for e in rows:
        if lo <= e.at < hi and (channel is None or e.channel == channel):
            out[lo if width is None else bucket_of(e.at, width)][SERIES_KINDS.index(e.kind)] += 1
    return {k: tuple(v) for k, v in out.items()}


def participants(rows: Iterable[Engagement], lo: datetime, hi: datetime, channel: str | None) -> int:
    return len({e.account for e in rows
                if lo <= e.at < hi and e.kind != "follows" and (channel is None or e.channel == channel)})


def whole_minutes(lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    """The UTC minutes [lo, hi) touches."""
    start = lo.replace(second=0, microsecond=0)
    end = hi.replace(second=0, microsecond=0)
    return start, end if end == hi else end + MINUTE


def ingest_series(conn: psycopg.Connection, lo: datetime, hi: datetime, width: timedelta,
                  channel: str | None) -> dict[tuple[datetime, str], int]:
    """(bucket, kind) -> rows stored with ingested_at in the whole minutes of [lo, hi), in buckets of
    whole minutes (`width` rounded down)."""
    start, end = whole_minutes(lo, hi)
    width = max(width // MINUTE, 1) * MINUTE
    out: dict[tuple[datetime, str], int] = defaultdict(int)
    for ch, kind, at in conn.execute(
            "SELECT channel, relation, ingested_at FROM pulse.statuses"
            " UNION ALL SELECT channel, kind, ingested_at FROM pulse.interactions").fetchall():
        if start <= at < end and (channel is None or ch == channel):
            out[(bucket_of(at, width), kind)] += 1
    return dict(out)


@dataclass(frozen=True)
class Beat:
    channel: str
    at: datetime
    connected: bool
    lag: float | None
    runs: int
    pages: int
    reconnects: int
    spool: int
    ratelimit: int | None


def beats(conn: psycopg.Connection) -> list[Beat]:
    return [Beat(*r) for r in conn.execute(
        """SELECT channel, at, stream_connected, lag_seconds, catchup_runs_total, catchup_pages_total,
                  reconnects_total, spool_depth, ratelimit_remaining FROM pulse.heartbeats""").fetchall()]


def _delta(cur: int, prev: int | None) -> int:
    return 0 if prev is None else cur - prev if cur >= prev else cur


def heartbeat_series(rows: list[Beat], lo: datetime, hi: datetime, width: timedelta,
                     channel: str | None) -> dict[datetime, tuple[Any, ...]]:
    """bucket -> (lag_avg, lag_max, connected, spool_max, ratelimit_min, runs, pages, reconnects) over
    the heartbeats in [lo, hi); a counter's increase is over the channel's previous heartbeat when that
    one is at or after lo - 5 minutes (the panels' window), else 0."""
    window = sorted((b for b in rows if lo - timedelta(minutes=5) <= b.at < hi
                     and (channel is None or b.channel == channel)), key=lambda b: (b.channel, b.at))
    groups: dict[datetime, list[tuple[Beat, tuple[int, int, int]]]] = defaultdict(list)
    prev: Beat | None = None
    for b in window:
        before = prev if prev is not None and prev.channel == b.channel else None
        prev = b
        if b.at < lo:
            continue
        deltas = (_delta(b.runs, before.runs if before else None), _delta(b.pages, before.pages if before else None),
                  _delta(b.reconnects, before.reconnects if before else None))
        groups[bucket_of(b.at, width)].append((b, deltas))
    out = {}
    for bucket, members in groups.items():
        lags = [b.lag for b, _ in members if b.lag is not None]
        limits = [b.ratelimit for b, _ in members if b.ratelimit is not None]
        out[bucket] = (sum(lags) / len(lags) if lags else None, max(lags) if lags else None,
                       min(int(b.connected) for b, _ in members), max(b.spool for b, _ in members),
                       min(limits) if limits else None, *(sum(d[i] for _, d in members) for i in range(3)))
    return out
