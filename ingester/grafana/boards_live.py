"""The live boards: *Live Q&A* for the team during a session, *Ingester health* for operations.

Time series are bucketed by Grafana's `$__interval` with a minimum of one minute (`MINUTE`, the
panel's "Min interval"): minutes over the default ranges, hours over weeks and months, so a long
range costs as many points as a short one. Buckets are UTC (the same everywhere); the functions
behind them (schema/views/28_live_rollups.sql) read rollups for whole hours. `$__timeGroupAlias`'s
third argument asks Grafana to show an empty bucket as 0, not as a gap.

Built per language (`live_qa(lang)`, `health(lang)`; texts in `texts_live`). The Live board opens
with the chosen session's panels (`boards_session`), then the whole channel over the range.
"""

from __future__ import annotations

from typing import Any

from ingester.grafana import boards_session
from ingester.grafana.boards_jobs import jobs_panel
from ingester.grafana.boards_session import PLAIN as _PLAIN
from ingester.grafana.model import Annotation, Dashboard, Frame, Panel, Query, Row
from ingester.grafana.texts import COMMON, fields, mastodon_link, sql_text
from ingester.grafana.texts_live import TEXTS
from ingester.grafana.variables import channel, channel_is, session
from ingester.i18n import Language

MINUTE = "1m"  # the minimum interval of every panel bucketed by $__interval: the boards are about minutes

# The channel over the range, at Grafana's $__interval (the panels' minimum interval: a minute), from
# kpi.engagement_series / kpi.participants (schema/views/28_live_rollups.sql): minutes over the default
# 3 hours, whole hours from the rollups over long ranges (2-hour points over 90 days, not 129,600 minutes
# of events). `$__timeGroupAlias(..., 0)` asks Grafana to show a quiet bucket as 0, not as a gap.
_SERIES = "kpi.engagement_series($__timeFrom(), $__timeTo(), $__interval_ms * interval '1 millisecond', $channel)"

_PER_MINUTE = f"""
SELECT $__timeGroupAlias(s.bucket, $__interval, 0), sum(s.replies) AS replies
  FROM {_SERIES} s
 GROUP BY 1
 ORDER BY 1"""

_LIKES_PER_MINUTE = f"""
SELECT $__timeGroupAlias(s.bucket, $__interval, 0), sum(s.favourites) AS favourites, sum(s.reblogs) AS boosts
  FROM {_SERIES} s
 GROUP BY 1
 ORDER BY 1"""

_PARTICIPANTS = """
SELECT kpi.participants($__timeFrom(), $__timeTo(), $channel)::float8 AS participants"""

# (bucket NULL: the whole range as one row, whole days from the daily rollups)
_REPLIES = """
SELECT coalesce(sum(s.replies), 0)::float8 AS replies
  FROM kpi.engagement_series($__timeFrom(), $__timeTo(), NULL, $channel) s"""

_WAITING = f"""
SELECT count(*)::float8 AS waiting
  FROM kpi.unanswered u
 WHERE $__timeFilter(u.replied_at) AND {channel_is("u")}"""

_LONGEST_WAIT = f"""
SELECT coalesce(extract(epoch FROM now() - min(u.replied_at)), 0)::float8 AS longest_wait
  FROM kpi.unanswered u
 WHERE $__timeFilter(u.replied_at) AND {channel_is("u")}"""

_NEWEST = f"""
SELECT r.replied_at AS "time", r.account AS handle, {_PLAIN.format(c="r.content")} AS text,
       r.answered_at IS NOT NULL AS answered, r.url
  FROM kpi.replies_live r
 WHERE $__timeFilter(r.replied_at) AND {channel_is("r")}
 ORDER BY r.replied_at DESC
 LIMIT 50"""

_QUEUE = f"""
SELECT u.replied_at AS "time", u.waiting_seconds, u.account AS handle,
       {_PLAIN.format(c="u.content")} AS text, u.url
  FROM kpi.unanswered u
 WHERE $__timeFilter(u.replied_at) AND {channel_is("u")}
 ORDER BY u.replied_at
 LIMIT 100"""

_NEWEST_COLUMNS = ("time", "handle", "text", "answered", "url")
_QUEUE_COLUMNS = ("time", "waiting_seconds", "handle", "text", "url")


def _city_posted(lang: Language) -> str:
    posted, answered = (sql_text(TEXTS.text(lang, k)) for k in ("city_posted", "city_answered"))
    return f"""
SELECT p.posted_at AS "time",
       CASE WHEN p.in_reply_to_id IS NULL THEN {posted} ELSE {answered} END
         || CASE WHEN cardinality(p.tags) > 0 THEN ' #' || array_to_string(p.tags, ' #') ELSE '' END AS text,
       CASE WHEN p.in_reply_to_id IS NULL THEN 'post' ELSE 'answer' END AS tags
  FROM kpi.posts p
 WHERE $__timeFilter(p.posted_at) AND {channel_is("p")}
 ORDER BY 1"""


def _stat(lang: Language, key: str, sql: str, unit: str = "locale", decimals: int | None = 0) -> Panel:
    return Panel(key=key, title=TEXTS.text(lang, key), kind="stat", width=6, height=4, unit=unit,
                 decimals=decimals, description=TEXTS.text(lang, f"{key}.desc"), query=Query(sql, Frame.STAT))


def live_qa(lang: Language) -> Dashboard:
    def t(key: str) -> str:
        return TEXTS.text(lang, key)

    link = mastodon_link(lang)
    return Dashboard(
        uid="pulse-live",
        title=t("live.title"),
        description=t("live.desc"),
        variables=(channel(lang), session(lang)),
        annotations=(Annotation(t("anno"), _city_posted(lang)),),
        time_from="now-3h",
        refresh="5s",
        menu=COMMON.text(lang, "boards"),
        items=(
            *boards_session.items(lang),
            Row(t("row.channel")),
            _stat(lang, "replies", _REPLIES),
            _stat(lang, "participants", _PARTICIPANTS),
            _stat(lang, "waiting", _WAITING),
            _stat(lang, "longest_wait", _LONGEST_WAIT, unit="dthms", decimals=None),
            Panel(key="per_minute", title=t("per_minute"), kind="timeseries", width=12, height=8, unit="locale",
                  decimals=0, fields=fields(lang, "replies"), query=Query(_PER_MINUTE, Frame.SERIES),
                  description=t("per_minute.desc"), interval=MINUTE),
            Panel(key="likes_per_minute", title=t("likes_per_minute"), kind="timeseries", width=12, height=8,
                  unit="locale", decimals=0, fields=fields(lang, "favourites", "boosts"),
                  query=Query(_LIKES_PER_MINUTE, Frame.SERIES), description=t("likes_per_minute.desc"),
                  interval=MINUTE),
            Row(t("row.replies")),
            Panel(key="newest", title=t("newest"), kind="table", width=12, height=14, links=(link,),
                  fields=fields(lang, *_NEWEST_COLUMNS), query=Query(_NEWEST, Frame.TABLE, _NEWEST_COLUMNS),
                  description=t("newest.desc")),
            Panel(key="queue", title=t("queue"), kind="table", width=12, height=14, links=(link,),
                  fields=fields(lang, *_QUEUE_COLUMNS), query=Query(_QUEUE, Frame.TABLE, _QUEUE_COLUMNS),
                  description=t("queue.desc")),
        ),
    )


# -- Ingester health -------------------------------------------------------------------------

# Buckets of Grafana's $__interval (the panels' minimum interval: a minute), from pulse.ingest_series
# and pulse.heartbeat_series (schema/views/28_live_rollups.sql): the rows for the default 6 hours, per-hour
# rollups kept by triggers for long ranges (there is no index on ingested_at, and heartbeats come every
# 5 s per channel: 90 days were a scan of every event and every heartbeat).
_RANGE = "$__timeFrom(), $__timeTo(), $__interval_ms * interval '1 millisecond', $channel"

_EVENTS = f"""
SELECT s.bucket AS "time", s.kind AS metric, s.events
  FROM pulse.ingest_series({_RANGE}) s
 ORDER BY 1, 2"""

_LAG = f"""
SELECT s.bucket AS "time", s.lag_avg AS "median lag", s.lag_max AS "worst channel"
  FROM pulse.heartbeat_series({_RANGE}) s
 ORDER BY 1"""

_CONNECTED = f"""
SELECT s.bucket AS "time", s.connected
  FROM pulse.heartbeat_series({_RANGE}) s
 ORDER BY 1"""

_CONNECTED_NOW = f"""
SELECT coalesce(min(CASE WHEN l.stream_connected THEN 1 ELSE 0 END), 0)::float8 AS connected
  FROM (SELECT DISTINCT ON (h.channel) h.stream_connected
          FROM pulse.heartbeats h
         WHERE h.at > now() - interval '5 minutes' AND {channel_is("h")}
         ORDER BY h.channel, h.at DESC) l"""

# counter increases between heartbeats (a restart counts from zero), summed per bucket
_CATCHUP = f"""
SELECT $__timeGroupAlias(s.bucket, $__interval, 0), sum(s.catchup_runs) AS "catch-up runs",
       sum(s.catchup_pages) AS "catch-up pages", sum(s.reconnects) AS reconnects
  FROM pulse.heartbeat_series({_RANGE}) s
 GROUP BY 1
 ORDER BY 1"""

_DEAD = f"""
SELECT $__timeGroupAlias(d.received_at, $__interval, 0), count(*) AS "dead letters"
  FROM pulse.dead_letters d
 WHERE $__timeFilter(d.received_at) AND {channel_is("d")}
 GROUP BY 1
 ORDER BY 1"""

_DEAD_LIST = f"""
SELECT d.received_at AS "time", d.channel, d.source, d.reason
  FROM pulse.dead_letters d
 WHERE $__timeFilter(d.received_at) AND {channel_is("d")}
 ORDER BY d.received_at DESC
 LIMIT 50"""

_LAST_EVENT_AGE = f"""
SELECT extract(epoch FROM now() - max(h.last_event_at))::float8 AS age
  FROM pulse.heartbeats h
 WHERE h.at > now() - interval '1 day' AND {channel_is("h")}"""

_HEARTBEAT_AGE = f"""
SELECT extract(epoch FROM now() - max(h.at))::float8 AS age
  FROM pulse.heartbeats h
 WHERE h.at > now() - interval '1 day' AND {channel_is("h")}"""

_BACKLOG = f"""
SELECT s.bucket AS "time", s.spool_max AS "spool depth", s.ratelimit_min AS "rate limit left"
  FROM pulse.heartbeat_series({_RANGE}) s
 ORDER BY 1"""


# Simulated data never passes for a real channel's (migration 014, kpi.data_origin).
_DATA_ORIGIN = """
SELECT CASE d.origin WHEN 'simulated' THEN 2 WHEN 'real' THEN 1 ELSE 0 END::float8 AS origin
  FROM kpi.data_origin d"""


def _data_origin_words(lang: Language) -> tuple[tuple[str, str, str], ...]:
    return (("2", TEXTS.text(lang, "origin.simulated"), "red"), ("1", TEXTS.text(lang, "origin.real"), "green"),
            ("0", TEXTS.text(lang, "origin.none"), "text"))


def _connected_words(lang: Language) -> tuple[tuple[str, str, str], ...]:
    return (("0", COMMON.text(lang, "disconnected"), "red"), ("1", COMMON.text(lang, "connected"), "green"))


def health(lang: Language) -> Dashboard:
    def t(key: str) -> str:
        return TEXTS.text(lang, key)

    def panel(key: str, kind: str, sql: str, frame: Frame, *columns: str, **layout: Any) -> Panel:
        """`columns`: the headers to translate (and, for a table, its declared columns)."""
        return Panel(key=key, title=t(key), kind=kind, description=t(f"{key}.desc"),
                     query=Query(sql, frame, columns if frame is Frame.TABLE else ()),
                     fields=fields(lang, *columns), **layout)

    connected = _connected_words(lang)
    return Dashboard(
        uid="pulse-health",
        title=t("health.title"),
        description=t("health.desc"),
        variables=(channel(lang),),
        time_from="now-6h",
        refresh="10s",
        menu=COMMON.text(lang, "boards"),
        items=(
            panel("origin", "stat", _DATA_ORIGIN, Frame.STAT, width=24, height=3,
                  mappings=_data_origin_words(lang), options={"colorMode": "background", "textMode": "value"}),
            panel("stream", "stat", _CONNECTED_NOW, Frame.STAT, width=6, height=4, mappings=connected,
                  options={"colorMode": "background"}),
            panel("event_age", "stat", _LAST_EVENT_AGE, Frame.STAT, width=6, height=4, unit="dthms"),
            panel("heartbeat_age", "stat", _HEARTBEAT_AGE, Frame.STAT, width=6, height=4, unit="dthms"),
            panel("connected", "state-timeline", _CONNECTED, Frame.SERIES, "connected", width=6, height=4,
                  mappings=connected, interval=MINUTE),
            # long format: one series per kind, named by the kind itself (no displayName override)
            panel("events", "timeseries", _EVENTS, Frame.SERIES, stacked=True, unit="locale", decimals=0, interval=MINUTE),
            panel("lag", "timeseries", _LAG, Frame.SERIES, "median lag", "worst channel", unit="s", decimals=1, interval=MINUTE),
            panel("catchup", "timeseries", _CATCHUP, Frame.SERIES, "catch-up runs", "catch-up pages", "reconnects",
                  unit="locale", decimals=0, interval=MINUTE),
            panel("backlog", "timeseries", _BACKLOG, Frame.SERIES, "spool depth", "rate limit left",
                  unit="locale", decimals=0, interval=MINUTE),
            panel("dead", "timeseries", _DEAD, Frame.SERIES, "dead letters", unit="locale", decimals=0, interval=MINUTE),
            panel("dead_list", "table", _DEAD_LIST, Frame.TABLE, "time", "channel", "source", "reason"),
            jobs_panel(lang),
        ),
    )

