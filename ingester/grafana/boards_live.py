"""The live boards: *Live Q&A* for the team during a session, *Ingester health* for operations.

Minute buckets use Grafana's `$__timeGroupAlias` (UTC minutes are the same everywhere); the third
argument asks Grafana to fill empty minutes with 0 so a quiet minute shows as 0, not as a gap.

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

_PER_MINUTE = f"""
SELECT $__timeGroupAlias(e.occurred_at, '1m', 0), count(*) AS replies
  FROM kpi.engagements e
 WHERE $__timeFilter(e.occurred_at) AND e.kind = 'reply' AND {channel_is("e")}
 GROUP BY 1
 ORDER BY 1"""

_LIKES_PER_MINUTE = f"""
SELECT $__timeGroupAlias(e.occurred_at, '1m', 0),
       count(*) FILTER (WHERE e.kind = 'favourite') AS favourites,
       count(*) FILTER (WHERE e.kind = 'reblog') AS boosts
  FROM kpi.engagements e
 WHERE $__timeFilter(e.occurred_at) AND e.kind IN ('favourite', 'reblog') AND {channel_is("e")}
 GROUP BY 1
 ORDER BY 1"""

_PARTICIPANTS = f"""
SELECT count(DISTINCT e.account_key)::float8 AS participants
  FROM kpi.engagements e
 WHERE $__timeFilter(e.occurred_at) AND e.kind <> 'follow' AND {channel_is("e")}"""

_REPLIES = f"""
SELECT count(*)::float8 AS replies
  FROM kpi.engagements e
 WHERE $__timeFilter(e.occurred_at) AND e.kind = 'reply' AND {channel_is("e")}"""

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
                  description=t("per_minute.desc")),
            Panel(key="likes_per_minute", title=t("likes_per_minute"), kind="timeseries", width=12, height=8,
                  unit="locale", decimals=0, fields=fields(lang, "favourites", "boosts"),
                  query=Query(_LIKES_PER_MINUTE, Frame.SERIES), description=t("likes_per_minute.desc")),
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

_EVENTS = f"""
SELECT $__timeGroupAlias(ev.ingested_at, '1m'), ev.kind AS metric, count(*) AS events
  FROM (SELECT s.channel, s.ingested_at, s.relation AS kind FROM pulse.statuses s
         WHERE $__timeFilter(s.ingested_at) AND s.created_at > timestamptz $__timeFrom() - interval '7 days'
        UNION ALL
        SELECT i.channel, i.ingested_at, i.kind FROM pulse.interactions i
         WHERE $__timeFilter(i.ingested_at) AND i.occurred_at > timestamptz $__timeFrom() - interval '7 days') ev
 WHERE {channel_is("ev")}
 GROUP BY 1, 2
 ORDER BY 1, 2"""

_LAG = f"""
SELECT $__timeGroupAlias(h.at, '1m'), avg(h.lag_seconds) AS "median lag", max(h.lag_seconds) AS "worst channel"
  FROM pulse.heartbeats h
 WHERE $__timeFilter(h.at) AND {channel_is("h")}
 GROUP BY 1
 ORDER BY 1"""

_CONNECTED = f"""
SELECT $__timeGroupAlias(h.at, '1m'), min(CASE WHEN h.stream_connected THEN 1 ELSE 0 END) AS connected
  FROM pulse.heartbeats h
 WHERE $__timeFilter(h.at) AND {channel_is("h")}
 GROUP BY 1
 ORDER BY 1"""

_CONNECTED_NOW = f"""
SELECT coalesce(min(CASE WHEN l.stream_connected THEN 1 ELSE 0 END), 0)::float8 AS connected
  FROM (SELECT DISTINCT ON (h.channel) h.stream_connected
          FROM pulse.heartbeats h
         WHERE h.at > now() - interval '5 minutes' AND {channel_is("h")}
         ORDER BY h.channel, h.at DESC) l"""

_COUNTER_DELTA = "CASE WHEN lag({c}) OVER w IS NULL THEN 0 WHEN {c} >= lag({c}) OVER w THEN {c} - lag({c}) OVER w ELSE {c} END"

_CATCHUP = f"""
SELECT $__timeGroupAlias(d.at, '1m', 0), sum(d.runs) AS "catch-up runs", sum(d.pages) AS "catch-up pages",
       sum(d.reconnects) AS reconnects
  FROM (SELECT h.at,
               {_COUNTER_DELTA.format(c="h.catchup_runs_total")} AS runs,
               {_COUNTER_DELTA.format(c="h.catchup_pages_total")} AS pages,
               {_COUNTER_DELTA.format(c="h.reconnects_total")} AS reconnects
          FROM pulse.heartbeats h
         WHERE h.at BETWEEN timestamptz $__timeFrom() - interval '5 minutes' AND $__timeTo()
           AND {channel_is("h")}
        WINDOW w AS (PARTITION BY h.channel ORDER BY h.at)) d
 WHERE $__timeFilter(d.at)
 GROUP BY 1
 ORDER BY 1"""

_DEAD = f"""
SELECT $__timeGroupAlias(d.received_at, '1m', 0), count(*) AS "dead letters"
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
SELECT $__timeGroupAlias(h.at, '1m'), max(h.spool_depth) AS "spool depth",
       min(h.ratelimit_remaining) AS "rate limit left"
  FROM pulse.heartbeats h
 WHERE $__timeFilter(h.at) AND {channel_is("h")}
 GROUP BY 1
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
                  mappings=connected),
            # long format: one series per kind, named by the kind itself (no displayName override)
            panel("events", "timeseries", _EVENTS, Frame.SERIES, stacked=True, unit="locale", decimals=0),
            panel("lag", "timeseries", _LAG, Frame.SERIES, "median lag", "worst channel", unit="s", decimals=1),
            panel("catchup", "timeseries", _CATCHUP, Frame.SERIES, "catch-up runs", "catch-up pages", "reconnects",
                  unit="locale", decimals=0),
            panel("backlog", "timeseries", _BACKLOG, Frame.SERIES, "spool depth", "rate limit left",
                  unit="locale", decimals=0),
            panel("dead", "timeseries", _DEAD, Frame.SERIES, "dead letters", unit="locale", decimals=0),
            panel("dead_list", "table", _DEAD_LIST, Frame.TABLE, "time", "channel", "source", "reason"),
            jobs_panel(lang),
        ),
    )

