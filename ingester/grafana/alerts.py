"""Alert rules as code, Grafana's file-provisioning shape (apiVersion 1) and a faithful evaluator.

Every channel rule's query returns one row per known channel (channels from `pulse.channels` plus any
that sent a heartbeat in the last 8 days), with a `channel` label and one numeric value that is never
NULL: zero activity produces a value (0 replies, ratio 0, ...) instead of no rows, so a rule fires
on silence rather than falling into NoData. The background-jobs rule is about the database, not a
channel: one row per TimescaleDB job (`job` label) from `kpi.background_jobs`; below full TimescaleDB
there are no jobs, no rows, and NoData counts as OK. The chain is the one Grafana's UI builds:
A (SQL, table format) -> B (reduce: last) -> C (threshold), condition C.

`evaluate()` applies B and C in Python the way Grafana's server-side expressions do (a table row
becomes one series labelled by its string columns; reduce of a single number is that number), so
the tests can prove each rule fires on a drop and stays normal on a healthy scenario.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ingester.grafana import DATASOURCE_UID, FOLDER_TITLE
from ingester.grafana.texts_alerts import TEXTS
from ingester.i18n import DEFAULT_LANGUAGE, Language

GROUP = "pulse"
DEFAULT_ENGAGEMENT_SHARE = 0.5

_CHANNELS = """
WITH channels AS (
  SELECT c.channel FROM pulse.channels c
  UNION
  SELECT DISTINCT h.channel FROM pulse.heartbeats h WHERE h.at > now() - interval '8 days'
)"""

ENGAGEMENT_SQL = _CHANNELS + """,
recent AS (
  SELECT e.channel, count(*) AS n FROM kpi.engagements e
   WHERE e.occurred_at > now() - interval '24 hours' AND e.occurred_at <= now()
   GROUP BY e.channel),
baseline AS (
  SELECT e.channel, count(*) / 7.0 AS per_day FROM kpi.engagements e
   WHERE e.occurred_at > now() - interval '8 days' AND e.occurred_at <= now() - interval '24 hours'
   GROUP BY e.channel)
SELECT c.channel,
       (CASE WHEN coalesce(b.per_day, 0) = 0 THEN 1
             ELSE coalesce(r.n, 0) / b.per_day END)::float8 AS share_of_average
  FROM channels c
  LEFT JOIN recent r ON r.channel = c.channel
  LEFT JOIN baseline b ON b.channel = c.channel
 ORDER BY c.channel"""

QUIET_SQL = _CHANNELS + """,
qa AS (
  SELECT p.channel, p.post_id, p.posted_at FROM kpi.post_stats p
   WHERE p.format = 'qa' AND p.posted_at > now() - interval '3 hours'),
session AS (SELECT qa.channel, max(qa.posted_at) AS started FROM qa GROUP BY qa.channel),
last_reply AS (
  SELECT e.channel, max(e.occurred_at) AS at FROM kpi.engagements e
    JOIN qa ON qa.channel = e.channel AND qa.post_id = coalesce(e.thread_root_id, e.post_id)
   WHERE e.kind = 'reply' AND e.occurred_at > now() - interval '3 hours'
   GROUP BY e.channel)
SELECT c.channel,
       (CASE WHEN s.started IS NULL THEN 0
             ELSE extract(epoch FROM now() - greatest(s.started, l.at)) / 60 END)::float8 AS quiet_minutes
  FROM channels c
  LEFT JOIN session s ON s.channel = c.channel
  LEFT JOIN last_reply l ON l.channel = c.channel
 ORDER BY c.channel"""

STALLED_SQL = _CHANNELS + """
SELECT c.channel,
       coalesce(extract(epoch FROM now() - max(h.at)) / 60, 1e9)::float8 AS minutes_since_heartbeat
  FROM channels c
  LEFT JOIN pulse.heartbeats h ON h.channel = c.channel AND h.at > now() - interval '8 days'
 GROUP BY c.channel
 ORDER BY c.channel"""

DEAD_LETTERS_SQL = _CHANNELS + """
SELECT c.channel,
       (count(d.id) FILTER (WHERE d.received_at > now() - interval '15 minutes')
        - count(d.id) FILTER (WHERE d.received_at <= now() - interval '15 minutes') / 96.0)::float8
         AS above_usual_15m
  FROM channels c
  LEFT JOIN pulse.dead_letters d ON d.channel = c.channel AND d.received_at > now() - interval '24 hours 15 minutes'
 GROUP BY c.channel
 ORDER BY c.channel"""

# 1 when the job's latest run failed (or it failed several times in a row), 1 more when its aggregate
# lags beyond its limit (kpi.background_jobs.lag_limit: 1 h 03 min hourly, 2 h 20 min daily). The label
# names the job by kind, relation and id: stable while the job exists, unique per row.
JOBS_SQL = """
SELECT j.kind || ' ' || coalesce(j.relation, j.proc) || ' #' || j.job_id AS job,
       ((CASE WHEN j.failing THEN 1 ELSE 0 END) + (CASE WHEN j.lagging THEN 1 ELSE 0 END))::float8 AS problems
  FROM kpi.background_jobs j
 ORDER BY j.job_id"""


@dataclass(frozen=True)
class Rule:
    uid: str
    title: str
    sql: str
    evaluator: str  # 'gt' | 'lt'
    threshold: float
    pending: str  # Grafana's `for`
    no_data: str  # NoData | Alerting | OK | KeepLast
    summary: str
    description: str
    severity: str = "warning"
    dashboard_uid: str | None = None

    def fires(self, value: float) -> bool:
        return value > self.threshold if self.evaluator == "gt" else value < self.threshold

    def to_provisioning(self) -> dict[str, Any]:
        expr = {"type": "__expr__", "uid": "__expr__"}
        out: dict[str, Any] = {
            "uid": self.uid,
            "title": self.title,
            "condition": "C",
            "data": [
                {"refId": "A", "relativeTimeRange": {"from": 600, "to": 0}, "datasourceUid": DATASOURCE_UID,
                 "model": {"refId": "A", "rawSql": self.sql.strip(), "format": "table", "rawQuery": True,
                           "editorMode": "code", "intervalMs": 60000, "maxDataPoints": 43200}},
                {"refId": "B", "relativeTimeRange": {"from": 0, "to": 0}, "datasourceUid": "__expr__",
                 "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last",
                           "datasource": expr}},
                {"refId": "C", "relativeTimeRange": {"from": 0, "to": 0}, "datasourceUid": "__expr__",
                 "model": {"refId": "C", "type": "threshold", "expression": "B", "datasource": expr,
                           "conditions": [{"type": "query", "evaluator": {
                               "type": self.evaluator, "params": [self.threshold]}}]}},
            ],
            "noDataState": self.no_data,
            "execErrState": "Error",
            "for": self.pending,
            "annotations": {"summary": self.summary, "description": self.description},
            "labels": {"team": "pulse", "severity": self.severity},
            "isPaused": False,
        }
        if self.dashboard_uid:  # a relative link; Grafana's own dashboardUid needs a panel id as well
            out["annotations"]["board"] = f"/d/{self.dashboard_uid}"
        return out


def rules(engagement_share: float = DEFAULT_ENGAGEMENT_SHARE, lang: Language = DEFAULT_LANGUAGE) -> tuple[Rule, ...]:
    """The five rules with titles and messages in `lang`; uids, queries and thresholds never change."""
    if not 0 < engagement_share < 1:
        raise ValueError("engagement share must be between 0 and 1 (exclusive)")
    pct = round(engagement_share * 100)

    def t(key: str) -> str:
        # no str.format: the texts are Go templates full of {{ }}; the one slot is replaced by name
        return TEXTS.text(lang, key).replace("{pct}", str(pct))

    return (
        Rule("pulse-engagement-dropped", t("engagement.title"), ENGAGEMENT_SQL, "lt", engagement_share, "30m", "OK",
             t("engagement.summary"), t("engagement.description"), dashboard_uid="pulse-overview"),
        Rule("pulse-qa-quiet", t("quiet.title"), QUIET_SQL, "gt", 20, "0s", "OK",
             t("quiet.summary"), t("quiet.description"), dashboard_uid="pulse-live"),
        Rule("pulse-ingester-stalled", t("stalled.title"), STALLED_SQL, "gt", 5, "0s", "Alerting",
             t("stalled.summary"), t("stalled.description"), severity="critical", dashboard_uid="pulse-health"),
        Rule("pulse-dead-letters", t("dead.title"), DEAD_LETTERS_SQL, "gt", 5, "5m", "OK",
             t("dead.summary"), t("dead.description"), dashboard_uid="pulse-health"),
        # NoData = OK: plain PostgreSQL and Apache-only TimescaleDB have no background jobs at all
        Rule("pulse-background-jobs", t("jobs.title"), JOBS_SQL, "gt", 0, "5m", "OK",
             t("jobs.summary"), t("jobs.description"), dashboard_uid="pulse-health"),
    )


def rules_file(engagement_share: float = DEFAULT_ENGAGEMENT_SHARE, lang: Language = DEFAULT_LANGUAGE) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "groups": [{"orgId": 1, "name": GROUP, "folder": FOLDER_TITLE, "interval": "1m",
                    "rules": [r.to_provisioning() for r in rules(engagement_share, lang)]}],
    }


def contact_points_file() -> dict[str, Any]:
    """Two contact points; `$VARS` are interpolated by Grafana's provisioning from its environment."""
    return {
        "apiVersion": 1,
        "contactPoints": [
            {"orgId": 1, "name": "pulse-email", "receivers": [
                {"uid": "pulse-email", "type": "email",
                 "settings": {"addresses": "$PULSE_ALERT_EMAIL", "singleEmail": True}}]},
            {"orgId": 1, "name": "pulse-webhook", "receivers": [
                {"uid": "pulse-webhook", "type": "webhook",
                 "settings": {"url": "$PULSE_ALERT_WEBHOOK_URL", "httpMethod": "POST"}}]},
        ],
    }


def policies_file() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "policies": [{"orgId": 1, "receiver": "$PULSE_ALERT_RECEIVER",
                      "group_by": ["grafana_folder", "alertname", "channel"],
                      "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}],
    }


# -- evaluation, the way Grafana's expressions do it ------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    labels: tuple[tuple[str, str], ...]
    value: float
    state: str  # 'Alerting' | 'Normal'


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    return None


def evaluate(rule: Rule, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[Evaluation] | str:
    """Rows of query A -> one state per series, or the rule's NoData state when A returned no rows.

    A table-format SQL result becomes one number per row, labelled by its string columns; exactly
    one numeric column is allowed (Grafana refuses more). `reduce last` of a number is the number.
    """
    out: list[Evaluation] = []
    for row in rows:
        labels = tuple((c, v) for c, v in zip(columns, row, strict=True) if isinstance(v, str))
        numbers = [n for n in (_number(v) for v in row) if n is not None]
        if len(numbers) != 1:
            raise ValueError(f"{rule.uid}: a row must have exactly one numeric value, got {row!r}")
        out.append(Evaluation(labels, numbers[0], "Alerting" if rule.fires(numbers[0]) else "Normal"))
    if not out:
        return rule.no_data
    if len({e.labels for e in out}) != len(out):
        raise ValueError(f"{rule.uid}: duplicate label sets; Grafana rejects such a frame")
    return out


def by_channel(result: list[Evaluation] | str) -> Mapping[str, str]:
    if isinstance(result, str):
        return {"*": result}
    return {dict(e.labels).get("channel", "*"): e.state for e in result}
