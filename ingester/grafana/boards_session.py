"""The *Live Q&A* board's session panels: one post and its thread, chosen by the `session` variable
(default: the newest `qa` post).

The single figures come from `kpi.sessions` (schema/views/37_sessions.sql), which is defined on
`kpi.post_stats` and `kpi.response_times`, so the board shows exactly the contract's numbers for the
post. Each stat wraps its column in an aggregate so it returns one row even before a session exists.
"""

from __future__ import annotations

from ingester.grafana.model import Frame, Panel, Query, Row
from ingester.grafana.texts import fields, mastodon_link, sql_text
from ingester.grafana.texts_live import TEXTS
from ingester.grafana.variables import channel_is, in_thread
from ingester.i18n import Language

# Reply text is stored as Mastodon's HTML; tables show it as plain text.
PLAIN = "regexp_replace(regexp_replace({c}, '<br ?/?>|</p><p>', ' ', 'g'), '<[^>]*>', '', 'g')"

_THIS = f"s.post_id = ${{session:sqlstring}} AND {channel_is('s')}"

# How many earlier sessions of the same channel and format make "the previous sessions".
PREVIOUS_SESSIONS = 10


def _stat_sql(column: str, *, zero: bool = True) -> str:
    value = f"max(s.{column})"
    if zero:
        value = f"coalesce({value}, 0)"
    return f"""
SELECT {value}::float8 AS {column}
  FROM kpi.sessions s
 WHERE {_THIS}"""


PER_MINUTE = f"""
SELECT $__timeGroupAlias(e.occurred_at, '1m', 0), count(*) AS replies
  FROM kpi.engagements e
 WHERE $__timeFilter(e.occurred_at) AND e.kind = 'reply' AND {channel_is("e")} AND {in_thread("e", "session")}
 GROUP BY 1
 ORDER BY 1"""

QUEUE = f"""
SELECT u.replied_at AS "time", u.waiting_seconds, u.account AS handle,
       {PLAIN.format(c="u.content")} AS text, u.url
  FROM kpi.unanswered u
 WHERE u.post_id = ${{session:sqlstring}} AND {channel_is("u")}
   -- as in kpi.sessions: no reply predates its post, so the scan starts there
   AND u.replied_at >= (SELECT min(p.posted_at) FROM kpi.posts p
                         WHERE p.post_id = ${{session:sqlstring}} AND {channel_is("p")}) - interval '1 hour'
 ORDER BY u.replied_at
 LIMIT 100"""
QUEUE_COLUMNS = ("time", "waiting_seconds", "handle", "text", "url")


def compare_sql(lang: Language) -> str:
    """This session's numbers beside the average of the channel's previous sessions of its format."""
    def k(key: str) -> str:
        return sql_text(TEXTS.text(lang, f"k.{key}"))

    return f"""
WITH cur AS (
  SELECT s.* FROM kpi.sessions s WHERE {_THIS} LIMIT 1
), earlier AS (
  -- picked from kpi.post_stats without its counts (the planner drops the unused parts), so only
  -- these few posts are computed as sessions, not every post of the channel
  SELECT q.channel, q.post_id
    FROM cur JOIN kpi.post_stats q ON q.channel = cur.channel AND q.format = cur.format
                                  AND q.posted_at < cur.posted_at
   ORDER BY q.posted_at DESC
   LIMIT {PREVIOUS_SESSIONS}
), prev AS (
  SELECT count(*) AS n, avg(p.replies) AS replies, avg(p.participants) AS participants,
         avg(p.new_participants) AS new_participants, avg(p.returning_participants) AS returning_participants,
         avg(p.reply_like_ratio) AS reply_like_ratio, avg(p.median_response_seconds) AS median_response_seconds,
         avg(p.longest_response_seconds) AS longest_response_seconds, avg(p.unanswered) AS unanswered,
         -- the pace: replies of each previous session within as long after its post as this one has run
         -- (counted as kpi.post_stats counts replies, on the thread index; kpi.engagements would
         -- scan its favourites branch as well)
         avg((SELECT count(*) FROM pulse.statuses r
               WHERE r.channel = p.channel AND r.thread_root_id = p.post_id AND r.relation <> 'own_post'
                 AND r.created_at < p.posted_at + (now() - cur.posted_at))) AS replies_at_this_point
    FROM cur
    JOIN earlier x ON true
    -- LIMIT keeps this a lookup per post: flattened, the planner would compute the session of every post
    CROSS JOIN LATERAL (SELECT q.* FROM kpi.sessions q
                         WHERE q.channel = x.channel AND q.post_id = x.post_id LIMIT 1) p
)
SELECT k.kpi, round(k.session, 2) AS session, round(k.previous_average, 2) AS previous_average
  FROM cur, prev,
       LATERAL (VALUES
         (0, {k("at_this_point")}, cur.replies::numeric, prev.replies_at_this_point::numeric),
         (1, {k("replies")}, cur.replies::numeric, prev.replies::numeric),
         (2, {k("participants")}, cur.participants::numeric, prev.participants::numeric),
         (3, {k("new")}, cur.new_participants::numeric, prev.new_participants::numeric),
         (4, {k("returning")}, cur.returning_participants::numeric, prev.returning_participants::numeric),
         (5, {k("ratio")}, cur.reply_like_ratio::numeric, prev.reply_like_ratio::numeric),
         (6, {k("median")}, cur.median_response_seconds::numeric / 60, prev.median_response_seconds::numeric / 60),
         (7, {k("longest")}, cur.longest_response_seconds::numeric / 60, prev.longest_response_seconds::numeric / 60),
         (8, {k("waiting")}, cur.unanswered::numeric, prev.unanswered::numeric)
       ) AS k(ord, kpi, session, previous_average)
 ORDER BY k.ord"""


def _stat(lang: Language, key: str, column: str, unit: str = "locale", decimals: int | None = 0,
          zero: bool = True) -> Panel:
    return Panel(key=f"session.{key}", title=TEXTS.text(lang, f"s.{key}"), kind="stat", width=6, height=4,
                 unit=unit, decimals=decimals, description=TEXTS.text(lang, f"s.{key}.desc"),
                 query=Query(_stat_sql(column, zero=zero), Frame.STAT),
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "value", "graphMode": "none", "textMode": "value"})


def items(lang: Language) -> tuple[Panel | Row, ...]:
    t = TEXTS.text
    return (
        Row(t(lang, "row.session")),
        _stat(lang, "replies", "replies"),
        _stat(lang, "participants", "participants"),
        _stat(lang, "new", "new_participants"),
        _stat(lang, "returning", "returning_participants"),
        _stat(lang, "ratio", "reply_like_ratio", decimals=2, zero=False),
        _stat(lang, "median", "median_response_seconds", unit="dthms", decimals=None, zero=False),
        _stat(lang, "longest", "longest_response_seconds", unit="dthms", decimals=None, zero=False),
        _stat(lang, "waiting", "unanswered"),
        Panel(key="session.per_minute", title=t(lang, "s.per_minute"), kind="timeseries", width=12, height=8,
              unit="locale", decimals=0, description=t(lang, "s.per_minute.desc"),
              fields=fields(lang, "replies"), query=Query(PER_MINUTE, Frame.SERIES)),
        Panel(key="session.compare", title=t(lang, "s.compare"), kind="table", width=12, height=8,
              description=t(lang, "s.compare.desc"), fields=fields(lang, "kpi", "session", "previous_average"),
              query=Query(compare_sql(lang), Frame.TABLE, ("kpi", "session", "previous_average"))),
        Panel(key="session.queue", title=t(lang, "s.queue"), kind="table", width=24, height=10,
              links=(mastodon_link(lang),), description=t(lang, "s.queue.desc"),
              fields=fields(lang, *QUEUE_COLUMNS), query=Query(QUEUE, Frame.TABLE, QUEUE_COLUMNS)),
    )
