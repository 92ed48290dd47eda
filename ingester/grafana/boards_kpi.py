"""The team's KPI boards: *Channel overview* and *Post detail*.

Hourly, daily and weekly buckets come from the `kpi.activity_*` views, which bucket in the
configured timezone (a local calendar day is 23 or 25 hours on DST days); Grafana's
`$__timeGroup` buckets in UTC and is only used for minute-level panels elsewhere.
"""

from __future__ import annotations

from ingester.grafana.boards_entry import entry_items
from ingester.grafana.model import Dashboard, Frame, Link, Panel, Query, Row
from ingester.grafana.variables import CHANNEL, FORMAT, POST, channel_is, format_is, in_thread

_SUMMARY = "kpi.summary($__timeFrom(), $__timeTo(), $channel, $format)"
_PREVIOUS = (
    "kpi.summary(timestamptz $__timeFrom() - (timestamptz $__timeTo() - timestamptz $__timeFrom()),"
    " $__timeFrom(), $channel, $format)"
)
_POST_LINK = "/d/pulse-post/post-detail?var-channel=${channel}&var-post=${__value.raw}&${__url_time_range}"
_MASTODON_LINK = Link("url", "Open on Mastodon", "${__value.raw}")


def _kpi_stat(title: str, column: str, description: str, decimals: int = 2, unit: str = "none") -> Panel:
    return Panel(
        title=title,
        kind="stat",
        width=6,
        height=4,
        unit=unit,
        decimals=decimals,
        description=description,
        query=Query(f"SELECT coalesce(s.{column}, 0)::float8 AS value FROM {_SUMMARY} s", Frame.STAT),
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "value", "graphMode": "none", "textMode": "value"},
    )


def _activity(view: str, title: str, description: str, width: int) -> Panel:
    sql = f"""
SELECT a.bucket AS "time",
       sum(a.replies) AS replies, sum(a.mentions) AS mentions, sum(a.quotes) AS quotes,
       sum(a.favourites) AS favourites, sum(a.reblogs) AS boosts, sum(a.follows) AS follows
  FROM {view} a
 WHERE $__timeFilter(a.bucket) AND {channel_is("a")} AND {format_is("a")}
 GROUP BY 1
 ORDER BY 1"""
    return Panel(title=title, kind="timeseries", width=width, height=8, stacked=True, unit="short",
                 description=description, query=Query(sql, Frame.SERIES),
                 options={"legend": {"displayMode": "list", "placement": "bottom"}})


_COMPARE = f"""
SELECT k.kpi, k.current, k.previous, k.current - k.previous AS delta,
       round(100 * (k.current - k.previous) / nullif(k.previous, 0), 1) AS change_pct
  FROM {_SUMMARY} cur, {_PREVIOUS} prev,
       LATERAL (VALUES
         (1, 'Replies per post', cur.replies_per_post::numeric, prev.replies_per_post::numeric),
         (2, 'Reply/like ratio', cur.reply_like_ratio::numeric, prev.reply_like_ratio::numeric),
         (3, 'Returning accounts', cur.returning_accounts::numeric, prev.returning_accounts::numeric),
         (4, 'Distinct accounts', cur.distinct_accounts::numeric, prev.distinct_accounts::numeric)
       ) AS k(ord, kpi, current, previous)
 ORDER BY k.ord"""

_BY_FORMAT = """
SELECT f.format, s.posts, s.replies, s.replies_per_post, s.reply_like_ratio, s.distinct_accounts,
       s.new_accounts, s.returning_accounts, s.answered_share, s.median_response_seconds
  FROM (SELECT DISTINCT p.format FROM kpi.post_stats p
         WHERE ($format::text IS NULL OR p.format = $format)) f
 CROSS JOIN LATERAL kpi.summary($__timeFrom(), $__timeTo(), $channel, f.format) s
 ORDER BY s.replies DESC NULLS LAST, f.format"""

# One call for every local day of the range (kpi.accounts_daily), not kpi.summary once per day.
_NEW_RETURNING = """
SELECT d.bucket AS "time", d.new_accounts, d.returning_accounts
  FROM kpi.accounts_daily($__timeFrom(), $__timeTo(), $channel, $format) d
 ORDER BY 1"""

_TOP_POSTS = f"""
SELECT p.posted_at AS "time", p.format, p.replies, p.repliers, p.favourites, p.reblogs AS boosts,
       p.reply_like_ratio, p.answered_share, p.url, p.post_id
  FROM kpi.post_stats p
 WHERE $__timeFilter(p.posted_at) AND {channel_is("p")} AND {format_is("p")}
 ORDER BY p.replies DESC, p.favourites DESC, p.posted_at DESC
 LIMIT 20"""

# Local ISO weeks (Monday 00:00 in the configured timezone), exact over the range.
_WEEKLY = f"""
SELECT a.bucket AS "time",
       sum(a.replies) AS replies, sum(a.mentions) AS mentions, sum(a.quotes) AS quotes,
       sum(a.favourites) AS favourites, sum(a.reblogs) AS boosts, sum(a.follows) AS follows
  FROM kpi.activity($__timeFrom(), $__timeTo(), 'week', $channel) a
 WHERE {format_is("a")}
 GROUP BY 1
 ORDER BY 1"""

OVERVIEW = Dashboard(
    uid="pulse-overview",
    title="Channel overview",
    description="The four KPIs for the selected range against the previous period, activity and top posts.",
    variables=(CHANNEL, FORMAT),
    time_from="now-7d",
    links_to=("praatmee-pulse",),
    items=(
        Row("KPIs for the selected range"),
        _kpi_stat("Replies per post", "replies_per_post",
                  "Replies so far to the posts published in the range, divided by those posts."),
        _kpi_stat("Reply/like ratio", "reply_like_ratio",
                  "Replies divided by favourites for the same posts (0 when there are no favourites)."),
        _kpi_stat("Returning accounts", "returning_accounts",
                  "Accounts active in the range that had interacted before it started.", 0),
        _kpi_stat("Distinct accounts", "distinct_accounts",
                  "Accounts other than the channel's with any interaction in the range.", 0),
        Panel(title="Compared with the previous period", kind="table", width=12, height=7,
              description="Each KPI for the selected range, the equally long range before it, the "
                          "difference and the change in percent.",
              query=Query(_COMPARE, Frame.TABLE, ("kpi", "current", "previous", "delta", "change_pct"))),
        Panel(title="KPIs by format", kind="table", width=12, height=7,
              description="The same KPIs for each post format (Q&A, spotlight, city question, other).",
              query=Query(_BY_FORMAT, Frame.TABLE, (
                  "format", "posts", "replies", "replies_per_post", "reply_like_ratio", "distinct_accounts",
                  "new_accounts", "returning_accounts", "answered_share", "median_response_seconds"))),
        Row("Activity"),
        _activity("kpi.activity_hourly", "Activity per hour",
                  "Replies, mentions, quotes, favourites, boosts and follows per local hour.", 24),
        _activity("kpi.activity_daily", "Activity per day",
                  "The same per local calendar day in the configured timezone.", 12),
        Panel(title="Activity per week", kind="timeseries", width=12, height=8, stacked=True, unit="short",
              description="The same per local week (Monday to Sunday) in the configured timezone; the first "
                          "and last week count only the part inside the range.",
              query=Query(_WEEKLY, Frame.SERIES),
              options={"legend": {"displayMode": "list", "placement": "bottom"}}),
        Panel(title="New and returning accounts per day", kind="timeseries", width=24, height=8, stacked=True,
              description="Per local day: accounts interacting for the first time, and accounts that had "
                          "interacted before that day.",
              query=Query(_NEW_RETURNING, Frame.SERIES),
              options={"legend": {"displayMode": "list", "placement": "bottom"}}),
        Row("Posts"),
        Panel(title="Top posts", kind="table", width=24, height=10,
              description="The channel's posts published in the range with the most replies. The link "
                          "opens the post on Mastodon; the post id opens the post detail board.",
              links=(_MASTODON_LINK, Link("post_id", "Post detail", _POST_LINK, new_tab=False)),
              query=Query(_TOP_POSTS, Frame.TABLE, (
                  "time", "format", "replies", "repliers", "favourites", "boosts", "reply_like_ratio",
                  "answered_share", "url", "post_id"))),
        *entry_items(),
    ),
)

_THREAD = f"""
SELECT $__timeGroupAlias(e.occurred_at, $__interval, 0),
       count(*) FILTER (WHERE e.kind = 'reply') AS replies,
       count(*) FILTER (WHERE e.kind = 'favourite') AS favourites,
       count(*) FILTER (WHERE e.kind = 'reblog') AS boosts,
       count(*) FILTER (WHERE e.kind = 'quote') AS quotes
  FROM kpi.engagements e
 WHERE $__timeFilter(e.occurred_at) AND {channel_is("e")} AND {in_thread("e")}
 GROUP BY 1
 ORDER BY 1"""

_POST_STATS = """
SELECT p.posted_at AS "time", p.format, p.replies, p.repliers, p.favourites, p.reblogs AS boosts, p.quotes,
       p.reply_like_ratio, p.city_replies, p.answered_share, p.first_reply_at, p.url
  FROM kpi.post_stats p
 WHERE p.post_id = ${post:sqlstring} AND ($channel::text IS NULL OR p.channel = $channel)"""

_REPLIERS = f"""
SELECT left(e.account_key, 12) AS account, count(*) AS replies,
       min(e.occurred_at) AS first_reply, max(e.occurred_at) AS last_reply
  FROM kpi.engagements e
 WHERE e.kind = 'reply' AND {channel_is("e")} AND {in_thread("e")}
 GROUP BY e.account_key
 ORDER BY replies DESC, first_reply
 LIMIT 100"""

_ANSWERS = """
SELECT r.replied_at AS "time", r.answered_at, r.response_seconds, r.reply_id
  FROM kpi.response_times r
 WHERE r.post_id = ${post:sqlstring} AND ($channel::text IS NULL OR r.channel = $channel)
 ORDER BY r.replied_at"""

_MEDIAN = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r.response_seconds)::float8 AS median_response_seconds
  FROM kpi.response_times r
 WHERE r.post_id = ${post:sqlstring} AND r.response_seconds IS NOT NULL
   AND ($channel::text IS NULL OR r.channel = $channel)"""

_WAITING = """
SELECT count(*)::float8 AS waiting
  FROM kpi.unanswered u
 WHERE u.post_id = ${post:sqlstring} AND ($channel::text IS NULL OR u.channel = $channel)"""

POST_DETAIL = Dashboard(
    uid="pulse-post",
    title="Post detail",
    description="One post of the channel: its thread over time, who replied, and how fast the city answered.",
    variables=(CHANNEL, POST),
    time_from="now-7d",
    links_to=("praatmee-pulse",),
    items=(
        Panel(title="The post", kind="table", width=24, height=5, links=(_MASTODON_LINK,),
              description="Counts for the selected post (favourites and boosts follow the latest re-read "
                          "counters, so taken-back likes are not counted).",
              query=Query(_POST_STATS, Frame.TABLE, (
                  "time", "format", "replies", "repliers", "favourites", "boosts", "quotes", "reply_like_ratio",
                  "city_replies", "answered_share", "first_reply_at", "url"))),
        Panel(title="Thread timeline", kind="timeseries", width=16, height=8, stacked=True,
              description="Replies anywhere in the thread (also deep replies that never mention the city), "
                          "favourites, boosts and quotes per interval.",
              query=Query(_THREAD, Frame.SERIES)),
        Panel(title="Median response time", kind="stat", width=4, height=4, unit="s",
              description="Median time between a resident's reply and the city's answer in this thread.",
              query=Query(_MEDIAN, Frame.STAT)),
        Panel(title="Still waiting", kind="stat", width=4, height=4,
              description="Replies in this thread addressed to the city that have no answer yet.",
              query=Query(_WAITING, Frame.STAT)),
        Panel(title="Repliers", kind="table", width=12, height=9,
              description="Accounts that replied in the thread, by pseudonymous key (no handles).",
              query=Query(_REPLIERS, Frame.TABLE, ("account", "replies", "first_reply", "last_reply"))),
        Panel(title="The city's answers", kind="table", width=12, height=9, unit=None,
              description="Each resident reply addressed to the city, when the city answered and how long "
                          "it took (empty answer = not answered yet).",
              query=Query(_ANSWERS, Frame.TABLE, ("time", "answered_at", "response_seconds", "reply_id"))),
    ),
)
