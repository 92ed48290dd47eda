"""Dashboard variables and the SQL fragments every board shares.

`channel` and `format` are single-select with "All"; their custom all-value is the SQL literal
`NULL`, inserted raw by Grafana, so one predicate serves both cases
(`($channel::text IS NULL OR x.channel = $channel)`) and `kpi.summary(..., $channel, $format)`
receives NULL for "every channel" exactly as its signature expects. A list of every option
(Grafana's default for "All") would break on an empty database (`IN ()`).
"""

from __future__ import annotations

from ingester.grafana.model import QueryVariable
from ingester.grafana.texts import COMMON, sql_text
from ingester.i18n import Language

# The configured timezone of every local bucket (pulse.config, written by `ingester migrate`).
TZ = "pulse.timezone()"


def channel(lang: Language) -> QueryVariable:
    return QueryVariable(name="channel", label=COMMON.text(lang, "channel"),
                         sql="SELECT DISTINCT channel FROM kpi.posts ORDER BY 1", include_all=True, all_value="NULL")


def post_format(lang: Language) -> QueryVariable:
    return QueryVariable(name="format", label=COMMON.text(lang, "format"),
                         sql="SELECT DISTINCT format FROM kpi.post_stats ORDER BY 1", include_all=True,
                         all_value="NULL")


def _posts(lang: Language, order_by: str, limit: int) -> str:
    """The channel's posts as options: the post id, shown as "when · format · N replies"."""
    label = (f"to_char(p.posted_at AT TIME ZONE {TZ}, 'YYYY-MM-DD HH24:MI') || ' · ' || p.format"
             f" || ' · ' || p.replies || ' ' || {sql_text(COMMON.text(lang, 'replies_word'))}")
    return f"""
SELECT p.post_id AS __value,
       {label} AS __text
  FROM kpi.post_stats p
 WHERE {channel_is("p")}
 ORDER BY {order_by}
 LIMIT {limit}"""


def post(lang: Language) -> QueryVariable:
    return QueryVariable(name="post", label=COMMON.text(lang, "post"), sql=_posts(lang, "p.posted_at DESC", 500))


def session(lang: Language) -> QueryVariable:
    """The Live board's session: Q&A posts first, newest first, so Grafana's default (the first
    option) is the newest `qa` post; any other post can be picked. Not bounded by the time range:
    a session that began before the range is still a session. Refreshed on load and on every
    time-range change, so a new Q&A post becomes the default without editing the board."""
    return QueryVariable(name="session", label=COMMON.text(lang, "session"),
                         sql=_posts(lang, "(p.format = 'qa') DESC, p.posted_at DESC, p.post_id DESC", 200))



def channel_is(alias: str) -> str:
    return f"($channel::text IS NULL OR {alias}.channel = $channel)"


def format_is(alias: str) -> str:
    return f"($format::text IS NULL OR {alias}.format = $format)"


def in_thread(alias: str, variable: str = "post") -> str:
    """An engagement belongs to the thread of the post chosen in `variable` (`post`, or `session` on the
    Live board); deep replies carry thread_root_id."""
    return f"coalesce({alias}.thread_root_id, {alias}.post_id) = ${{{variable}:sqlstring}}"
