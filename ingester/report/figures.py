"""Every number in the report, read from the public kpi views and nothing else, so the report always
says what the boards and `docs/sql.md` say: `kpi.summary` (the KPI cards, both periods),
`kpi.activity_daily` (the chart), `kpi.post_stats` (top posts), `kpi.response_times` (unanswered now)
and `kpi.entry_daily` (the entry route)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from ingester.report.period import Period

SUMMARY_COLUMNS = (
    "posts", "replies", "favourites", "reblogs", "replies_per_post", "reply_like_ratio",
    "distinct_accounts", "new_accounts", "returning_accounts", "city_replies", "answered_share",
    "median_response_seconds",
)
ENTRY_COLUMNS = ("page_views", "signup_clicks", "reply_clicks", "keyword_sms", "keyword_whatsapp")
TOP_POSTS = 5


@dataclass(frozen=True)
class Day:
    day: date
    replies: int
    favourites: int


@dataclass(frozen=True)
class Post:
    post_id: str
    posted_at: datetime
    url: str | None
    format: str
    replies: int
    favourites: int | None
    reply_like_ratio: float | None


@dataclass(frozen=True)
class Figures:
    period: Period
    channel: str | None
    timezone: str
    current: dict[str, float | int | None]
    previous: dict[str, float | int | None]
    days: list[Day]
    unanswered_now: int
    top_posts: list[Post]
    entry: dict[str, int] | None = None  # None: no entry-route counts in either period
    entry_previous: dict[str, int] | None = None


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _summary(cur: psycopg.Cursor[Any], bounds: tuple[datetime, datetime], channel: str | None) -> dict[str, Any]:
    cur.execute("SELECT * FROM kpi.summary(%s, %s, %s)", (*bounds, channel))
    row = cur.fetchone() or {}
    return {k: _plain(row.get(k)) for k in SUMMARY_COLUMNS}


def _entry(cur: psycopg.Cursor[Any], period: Period) -> tuple[dict[str, int], dict[str, int]]:
    """The entry-route counters summed over `period` and over the period before it, in one query.
    Not per channel: the public page and the keyword serve the whole city, so a channel's report
    shows the city's entry route too."""
    sums = ", ".join(f"sum({c})::bigint AS {c}" for c in ENTRY_COLUMNS)  # fixed names, no input
    cur.execute(
        f"SELECT day >= %s AS current, {sums} FROM kpi.entry_daily WHERE day >= %s AND day < %s GROUP BY 1",
        (period.start, period.previous().start, period.end),
    )
    got = {r["current"]: {c: int(r[c]) for c in ENTRY_COLUMNS} for r in cur.fetchall()}
    none = dict.fromkeys(ENTRY_COLUMNS, 0)  # no row: no counts on any day of that period
    return got.get(True, none), got.get(False, none)


def load(conn: psycopg.Connection, period: Period, channel: str | None) -> Figures:
    """Read the figures for `period` (local days in the database's configured timezone)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT pulse.timezone() AS tz")
        tz_name = cur.fetchone()["tz"]  # type: ignore[index]
        tz = ZoneInfo(tz_name)
        bounds = period.bounds(tz)
        current = _summary(cur, bounds, channel)
        previous = _summary(cur, period.previous().bounds(tz), channel)
        cur.execute(
            """SELECT (bucket AT TIME ZONE %s)::date AS day, sum(replies)::bigint AS replies,
                      sum(favourites)::bigint AS favourites
                 FROM kpi.activity_daily
                WHERE bucket >= %s AND bucket < %s AND (%s::text IS NULL OR channel = %s)
                GROUP BY 1 ORDER BY 1""",
            (tz_name, *bounds, channel, channel),
        )
        per_day = {r["day"]: (int(r["replies"]), int(r["favourites"])) for r in cur.fetchall()}
        days = [Day(d, *per_day.get(d, (0, 0))) for d in period.days]  # a quiet day is a bar of 0
        cur.execute(
            "SELECT count(*) AS n FROM kpi.response_times"
            " WHERE answered_at IS NULL AND (%s::text IS NULL OR channel = %s)",
            (channel, channel),
        )
        unanswered = int(cur.fetchone()["n"])  # type: ignore[index]
        cur.execute(
            """SELECT post_id, posted_at, url, format, replies, favourites, reply_like_ratio
                 FROM kpi.post_stats
                WHERE posted_at >= %s AND posted_at < %s AND (%s::text IS NULL OR channel = %s)
                ORDER BY replies DESC, favourites DESC NULLS LAST, posted_at, post_id
                LIMIT %s""",
            (*bounds, channel, channel, TOP_POSTS),
        )
        posts = [Post(**{k: _plain(v) for k, v in r.items()}) for r in cur.fetchall()]
        entry: dict[str, int] | None
        entry_prev: dict[str, int] | None
        entry, entry_prev = _entry(cur, period)
        if not any(entry.values()) and not any(entry_prev.values()):
            entry = entry_prev = None  # a city without the entry route (yet) gets no row of zeros
    return Figures(period, channel, tz_name, current, previous, days, unanswered, posts, entry, entry_prev)
