"""The team's KPI boards: *Channel overview* and *Post detail*.

Hourly, daily and weekly buckets come from the `kpi.activity_*` views, which bucket in the
configured timezone (a local calendar day is 23 or 25 hours on DST days); Grafana's
`$__timeGroup` buckets in UTC and is only used for minute-level panels elsewhere.

Both boards are built per language (`overview(lang)`, `post_detail(lang)`; texts in `texts_kpi`);
the SQL, uids and column names are the same in every language.
"""

from __future__ import annotations

from ingester.grafana.boards_entry import entry_items
from ingester.grafana.model import Dashboard, Frame, Link, Panel, Query, Row
from ingester.grafana.texts import COMMON, fields, mastodon_link, sql_text
from ingester.grafana.texts_kpi import TEXTS
from ingester.grafana.variables import channel, channel_is, format_is, in_thread, post, post_format
from ingester.i18n import Language

_SUMMARY = "kpi.summary($__timeFrom(), $__timeTo(), $channel, $format)"
_PREVIOUS = (
    "kpi.summary(timestamptz $__timeFrom() - (timestamptz $__timeTo() - timestamptz $__timeFrom()),"
    " $__timeFrom(), $channel, $format)"
)
_POST_LINK = "/d/pulse-post/post-detail?var-channel=${channel}&var-post=${__value.raw}&${__url_time_range}"
_ACTIVITY_COLUMNS = ("replies", "mentions", "quotes", "favourites", "boosts", "follows")
_LEGEND = {"legend": {"displayMode": "list", "placement": "bottom"}}
# Activity sources: the kpi.activity_* views filtered here, or kpi.activity() for local ISO weeks
# (Monday 00:00 in the configured timezone, exact over the range), which takes range and channel itself.
_IN_RANGE = f"$__timeFilter(a.bucket) AND {channel_is('a')} AND {format_is('a')}"
_WEEKS = "kpi.activity($__timeFrom(), $__timeTo(), 'week', $channel)"


def _kpi_stat(lang: Language, key: str, decimals: int = 2) -> Panel:
    return Panel(
        key=key,
        title=TEXTS.text(lang, key),
        kind="stat",
        width=6,
        height=4,
        unit="locale",  # the viewer's browser locale: 0,42 in a Dutch browser
        decimals=decimals,
        description=TEXTS.text(lang, f"{key}.desc"),
        query=Query(f"SELECT coalesce(s.{key}, 0)::float8 AS value FROM {_SUMMARY} s", Frame.STAT),
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "colorMode": "value", "graphMode": "none", "textMode": "value"},
    )


def _activity(lang: Language, key: str, width: int, source: str, where: str) -> Panel:
    """Every kind of activity per bucket of `source` (a kpi.activity_* view or kpi.activity(), alias a)."""
    sql = f"""
SELECT a.bucket AS "time",
       sum(a.replies) AS replies, sum(a.mentions) AS mentions, sum(a.quotes) AS quotes,
       sum(a.favourites) AS favourites, sum(a.reblogs) AS boosts, sum(a.follows) AS follows
  FROM {source} a
 WHERE {where}
 GROUP BY 1
 ORDER BY 1"""
    return Panel(key=key, title=TEXTS.text(lang, key), kind="timeseries", width=width, height=8, stacked=True,
                 unit="locale", decimals=0, description=TEXTS.text(lang, f"{key}.desc"),
                 query=Query(sql, Frame.SERIES), fields=fields(lang, *_ACTIVITY_COLUMNS), options=_LEGEND)


def _compare(lang: Language) -> str:
    label = {k: sql_text(TEXTS.text(lang, k)) for k in
             ("replies_per_post", "reply_like_ratio", "returning_accounts", "distinct_accounts")}
    return f"""
SELECT k.kpi, k.current, k.previous, k.current - k.previous AS delta,
       round(100 * (k.current - k.previous) / nullif(k.previous, 0), 1) AS change_pct
  FROM {_SUMMARY} cur, {_PREVIOUS} prev,
       LATERAL (VALUES
         (1, {label["replies_per_post"]}, cur.replies_per_post::numeric, prev.replies_per_post::numeric),
         (2, {label["reply_like_ratio"]}, cur.reply_like_ratio::numeric, prev.reply_like_ratio::numeric),
         (3, {label["returning_accounts"]}, cur.returning_accounts::numeric, prev.returning_accounts::numeric),
         (4, {label["distinct_accounts"]}, cur.distinct_accounts::numeric, prev.distinct_accounts::numeric)
       ) AS k(ord, kpi, current, previous)
 ORDER BY k.ord"""


_BY_FORMAT = """
SELECT f.format, s.posts, s.replies, s.replies_per_post, s.reply_like_ratio, s.distinct_accounts,
       s.new_accounts, s.returning_accounts, s.answered_share, s.median_response_seconds
  FROM (SELECT DISTINCT p.format FROM kpi.post_stats p
         WHERE ($format::text IS NULL OR p.format = $format)) f
 CROSS JOIN LATERAL kpi.summary($__timeFrom(), $__timeTo(), $channel, f.format) s
 ORDER BY s.replies DESC NULLS LAST, f.format"""
_BY_FORMAT_COLUMNS = ("format", "posts", "replies", "replies_per_post", "reply_like_ratio", "distinct_accounts",
                      "new_accounts", "returning_accounts", "answered_share", "median_response_seconds")

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
_TOP_POSTS_COLUMNS = ("time", "format", "replies", "repliers", "favourites", "boosts", "reply_like_ratio",
                      "answered_share", "url", "post_id")


def overview(lang: Language) -> Dashboard:
    def t(key: str) -> str:
        return TEXTS.text(lang, key)

    return Dashboard(
        uid="pulse-overview",
        title=t("overview.title"),
        description=t("overview.desc"),
        variables=(channel(lang), post_format(lang)),
        time_from="now-7d",
        menu=COMMON.text(lang, "boards"),
        items=(
            Row(t("row.kpis")),
            _kpi_stat(lang, "replies_per_post"),
            _kpi_stat(lang, "reply_like_ratio"),
            _kpi_stat(lang, "returning_accounts", 0),
            _kpi_stat(lang, "distinct_accounts", 0),
            Panel(key="compare", title=t("compare"), kind="table", width=12, height=7, description=t("compare.desc"),
                  fields=fields(lang, "kpi", "current", "previous", "delta", "change_pct"),
                  query=Query(_compare(lang), Frame.TABLE, ("kpi", "current", "previous", "delta", "change_pct"))),
            Panel(key="by_format", title=t("by_format"), kind="table", width=12, height=7,
                  description=t("by_format.desc"), fields=fields(lang, *_BY_FORMAT_COLUMNS),
                  query=Query(_BY_FORMAT, Frame.TABLE, _BY_FORMAT_COLUMNS)),
            Row(t("row.activity")),
            _activity(lang, "hourly", 24, "kpi.activity_hourly", _IN_RANGE),
            _activity(lang, "daily", 12, "kpi.activity_daily", _IN_RANGE),
            _activity(lang, "weekly", 12, _WEEKS, format_is("a")),
            Panel(key="new_returning", title=t("new_returning"), kind="timeseries", width=24, height=8,
                  stacked=True, unit="locale", decimals=0, description=t("new_returning.desc"),
                  query=Query(_NEW_RETURNING, Frame.SERIES),
                  fields=fields(lang, "new_accounts", "returning_accounts"), options=_LEGEND),
            Row(t("row.posts")),
            Panel(key="top_posts", title=t("top_posts"), kind="table", width=24, height=10,
                  description=t("top_posts.desc"), fields=fields(lang, *_TOP_POSTS_COLUMNS),
                  links=(mastodon_link(lang),
                         Link("post_id", COMMON.text(lang, "post_detail"), _POST_LINK, new_tab=False)),
                  query=Query(_TOP_POSTS, Frame.TABLE, _TOP_POSTS_COLUMNS)),
            *entry_items(lang),
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
_POST_STATS_COLUMNS = ("time", "format", "replies", "repliers", "favourites", "boosts", "quotes",
                       "reply_like_ratio", "city_replies", "answered_share", "first_reply_at", "url")

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


def post_detail(lang: Language) -> Dashboard:
    def t(key: str) -> str:
        return TEXTS.text(lang, key)

    return Dashboard(
        uid="pulse-post",
        title=t("post.title"),
        description=t("post.desc"),
        variables=(channel(lang), post(lang)),
        time_from="now-7d",
        menu=COMMON.text(lang, "boards"),
        items=(
            Panel(key="the_post", title=t("the_post"), kind="table", width=24, height=5,
                  links=(mastodon_link(lang),), description=t("the_post.desc"),
                  fields=fields(lang, *_POST_STATS_COLUMNS),
                  query=Query(_POST_STATS, Frame.TABLE, _POST_STATS_COLUMNS)),
            Panel(key="thread", title=t("thread"), kind="timeseries", width=16, height=8, stacked=True,
                  unit="locale", decimals=0, description=t("thread.desc"),
                  fields=fields(lang, "replies", "favourites", "boosts", "quotes"),
                  query=Query(_THREAD, Frame.SERIES)),
            Panel(key="median", title=t("median"), kind="stat", width=4, height=4, unit="dthms",
                  description=t("median.desc"), query=Query(_MEDIAN, Frame.STAT)),
            Panel(key="waiting", title=t("waiting"), kind="stat", width=4, height=4, unit="locale", decimals=0,
                  description=t("waiting.desc"), query=Query(_WAITING, Frame.STAT)),
            Panel(key="repliers", title=t("repliers"), kind="table", width=12, height=9,
                  description=t("repliers.desc"), fields=fields(lang, "account", "replies", "first_reply",
                                                                "last_reply"),
                  query=Query(_REPLIERS, Frame.TABLE, ("account", "replies", "first_reply", "last_reply"))),
            Panel(key="answers", title=t("answers"), kind="table", width=12, height=9,
                  description=t("answers.desc"),
                  fields=fields(lang, "time", "answered_at", "response_seconds", "reply_id"),
                  query=Query(_ANSWERS, Frame.TABLE, ("time", "answered_at", "response_seconds", "reply_id"))),
        ),
    )

