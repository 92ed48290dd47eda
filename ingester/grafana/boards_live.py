"""The live boards: *Live Q&A* for the team during a session, *Ingester health* for operations.

Minute buckets use Grafana's `$__timeGroupAlias` (UTC minutes are the same everywhere); the third
argument asks Grafana to fill empty minutes with 0 so a quiet minute shows as 0, not as a gap.
"""

from __future__ import annotations

from ingester.grafana.model import Annotation, Dashboard, Frame, Link, Panel, Query, Row
from ingester.grafana.variables import CHANNEL, channel_is

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

# Reply text is stored as Mastodon's HTML; the table shows it as plain text.
_PLAIN = "regexp_replace(regexp_replace({c}, '<br ?/?>|</p><p>', ' ', 'g'), '<[^>]*>', '', 'g')"

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

_CITY_POSTED = f"""
SELECT p.posted_at AS "time",
       CASE WHEN p.in_reply_to_id IS NULL THEN 'The city posted' ELSE 'The city answered' END
         || CASE WHEN cardinality(p.tags) > 0 THEN ' #' || array_to_string(p.tags, ' #') ELSE '' END AS text,
       CASE WHEN p.in_reply_to_id IS NULL THEN 'post' ELSE 'answer' END AS tags
  FROM kpi.posts p
 WHERE $__timeFilter(p.posted_at) AND {channel_is("p")}
 ORDER BY 1"""

_LINK = Link("url", "Open on Mastodon", "${__value.raw}")

LIVE_QA = Dashboard(
    uid="pulse-live",
    title="Live Q&A",
    description="For the team during a live session: replies as they arrive, who is waiting, the pace.",
    variables=(CHANNEL,),
    annotations=(Annotation("The city posted", _CITY_POSTED),),
    time_from="now-3h",
    refresh="5s",
    links_to=("praatmee-pulse",),
    items=(
        Panel(title="Replies", kind="stat", width=6, height=4, query=Query(_REPLIES, Frame.STAT),
              description="Replies to the channel's threads in the selected range."),
        Panel(title="Participants", kind="stat", width=6, height=4, query=Query(_PARTICIPANTS, Frame.STAT),
              description="Distinct accounts that replied, mentioned, quoted, favourited or boosted."),
        Panel(title="Waiting for an answer", kind="stat", width=6, height=4, query=Query(_WAITING, Frame.STAT),
              description="Replies in the range addressed to the city without an answer yet."),
        Panel(title="Longest wait", kind="stat", width=6, height=4, unit="s",
              query=Query(_LONGEST_WAIT, Frame.STAT),
              description="How long the oldest unanswered reply has been waiting."),
        Panel(title="Replies per minute", kind="timeseries", width=12, height=8,
              query=Query(_PER_MINUTE, Frame.SERIES),
              description="Replies per minute; blue marks are the city's own posts and answers."),
        Panel(title="Favourites and boosts per minute", kind="timeseries", width=12, height=8,
              query=Query(_LIKES_PER_MINUTE, Frame.SERIES),
              description="Favourites and boosts of the channel's statuses per minute."),
        Row("Replies"),
        Panel(title="Newest replies", kind="table", width=12, height=14, links=(_LINK,),
              query=Query(_NEWEST, Frame.TABLE, ("time", "handle", "text", "answered", "url")),
              description="The latest replies with handle, text and a link to answer on Mastodon."),
        Panel(title="Unanswered queue", kind="table", width=12, height=14, links=(_LINK,), unit=None,
              query=Query(_QUEUE, Frame.TABLE, ("time", "waiting_seconds", "handle", "text", "url")),
              description="Replies in the range addressed to the city that have no answer yet, oldest first."),
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

_DATA_ORIGIN_MAP = {"mappings": [{"type": "value", "options": {
    "2": {"text": "SIMULATED DATA — from the built-in simulator, not a real channel", "color": "red"},
    "1": {"text": "Real channel data", "color": "green"},
    "0": {"text": "No data yet", "color": "text"}}}]}

_CONNECTED_MAP = {"mappings": [{"type": "value", "options": {
    "0": {"text": "disconnected", "color": "red"}, "1": {"text": "connected", "color": "green"}}}]}

HEALTH = Dashboard(
    uid="pulse-health",
    title="Ingester health",
    description="For operations: is the ingester connected, keeping up, and losing nothing?",
    variables=(CHANNEL,),
    time_from="now-6h",
    refresh="10s",
    links_to=("praatmee-pulse",),
    items=(
        Panel(title="Data source", kind="stat", width=24, height=3, query=Query(_DATA_ORIGIN, Frame.STAT),
              options={**_DATA_ORIGIN_MAP, "colorMode": "background", "textMode": "value"},
              description="Whether this database has received simulated data (ingester demo, run --simulate). "
                          "Once it has, every KPI here mixes simulated rows: use a fresh database for a real "
                          "channel."),
        Panel(title="Stream", kind="stat", width=6, height=4, query=Query(_CONNECTED_NOW, Frame.STAT),
              options={**_CONNECTED_MAP, "colorMode": "background"},
              description="Connected when every selected channel's latest heartbeat (last 5 min) says so."),
        Panel(title="Age of the last event", kind="stat", width=6, height=4, unit="s",
              query=Query(_LAST_EVENT_AGE, Frame.STAT),
              description="Time since the newest event the ingester wrote (quiet channels age too)."),
        Panel(title="Age of the last heartbeat", kind="stat", width=6, height=4, unit="s",
              query=Query(_HEARTBEAT_AGE, Frame.STAT),
              description="The ingester writes a heartbeat every ~15 s; above 5 min it is stalled."),
        Panel(title="Stream connected", kind="state-timeline", width=6, height=4,
              query=Query(_CONNECTED, Frame.SERIES), options=_CONNECTED_MAP,
              description="1 when the streaming connection was up during the minute, 0 when not."),
        Panel(title="Events ingested per minute by kind", kind="timeseries", width=12, height=8, stacked=True,
              query=Query(_EVENTS, Frame.SERIES),
              description="Rows written per minute (by ingestion time): statuses by relation, interactions "
                          "by kind, for events that happened in the last 7 days (the bound lets the "
                          "hypertables skip old chunks). Catch-up after a reconnect shows as a burst."),
        Panel(title="Ingestion lag", kind="timeseries", width=12, height=8, unit="s",
              query=Query(_LAG, Frame.SERIES),
              description="Ingested minus occurred for recent events, as reported in the heartbeats."),
        Panel(title="Catch-up and reconnects", kind="timeseries", width=12, height=8,
              query=Query(_CATCHUP, Frame.SERIES),
              description="REST catch-up runs and pages fetched, and stream reconnects, per minute."),
        Panel(title="Spool and rate limit", kind="timeseries", width=12, height=8,
              query=Query(_BACKLOG, Frame.SERIES),
              description="Events waiting in the local spool, and REST requests left in the rate window."),
        Panel(title="Dead letters per minute", kind="timeseries", width=12, height=8,
              query=Query(_DEAD, Frame.SERIES),
              description="Inputs that could not be normalised and were set aside."),
        Panel(title="Latest dead letters", kind="table", width=12, height=8,
              query=Query(_DEAD_LIST, Frame.TABLE, ("time", "channel", "source", "reason")),
              description="Why the latest inputs were set aside (the payload stays in the database)."),
    ),
)
