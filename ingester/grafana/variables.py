"""Dashboard variables and the SQL fragments every board shares.

`channel` and `format` are single-select with "All"; their custom all-value is the SQL literal
`NULL`, inserted raw by Grafana, so one predicate serves both cases
(`($channel::text IS NULL OR x.channel = $channel)`) and `kpi.summary(..., $channel, $format)`
receives NULL for "every channel" exactly as its signature expects. A list of every option
(Grafana's default for "All") would break on an empty database (`IN ()`).
"""

from __future__ import annotations

from ingester.grafana.model import QueryVariable

# The configured timezone of every local bucket (pulse.config, written by `ingester migrate`).
TZ = "pulse.timezone()"

CHANNEL = QueryVariable(
    name="channel",
    label="Channel",
    sql="SELECT DISTINCT channel FROM kpi.posts ORDER BY 1",
    include_all=True,
    all_value="NULL",
)

FORMAT = QueryVariable(
    name="format",
    label="Format",
    sql="SELECT DISTINCT format FROM kpi.post_stats ORDER BY 1",
    include_all=True,
    all_value="NULL",
)

POST = QueryVariable(
    name="post",
    label="Post",
    sql=f"""
SELECT p.post_id AS __value,
       to_char(p.posted_at AT TIME ZONE {TZ}, 'YYYY-MM-DD HH24:MI') || ' · ' || p.format
         || ' · ' || p.replies || ' replies' AS __text
  FROM kpi.post_stats p
 WHERE ($channel::text IS NULL OR p.channel = $channel)
 ORDER BY p.posted_at DESC
 LIMIT 500""",
)


def channel_is(alias: str) -> str:
    return f"($channel::text IS NULL OR {alias}.channel = $channel)"


def format_is(alias: str) -> str:
    return f"($format::text IS NULL OR {alias}.format = $format)"


def in_thread(alias: str) -> str:
    """An engagement belongs to the selected post's thread (deep replies carry thread_root_id)."""
    return f"coalesce({alias}.thread_root_id, {alias}.post_id) = ${{post:sqlstring}}"
