"""The *Background jobs (TimescaleDB)* panel of the Ingester health board.

Aggregates that silently stop refreshing look exactly like a quiet channel on every other board, so
operations see here, from `kpi.background_jobs` (schema/views/38_background_jobs.sql), each
TimescaleDB job with its state: failing first, in red, then lagging aggregates, then the rest. On plain
PostgreSQL and Apache-only TimescaleDB the view has no rows and the panel says why instead of "No data".
The alert rule `pulse-background-jobs` (alerts.py) fires on the same `failing`/`lagging` flags.
"""

from __future__ import annotations

from typing import Any

from ingester.grafana.model import Field, Frame, Panel, Query
from ingester.grafana.texts import fields
from ingester.grafana.texts_live import TEXTS
from ingester.i18n import Language

# `state` in one word per job, the worst first; `lag_seconds` only for refresh policies.
JOBS_SQL = """
SELECT CASE WHEN j.failing THEN 'failing' WHEN j.lagging THEN 'lagging'
            WHEN j.last_run_status IS NULL THEN 'not_run' ELSE 'ok' END AS state,
       j.kind, coalesce(j.relation, j.proc) AS relation, j.consecutive_failures, j.total_failures,
       extract(epoch FROM j.lag)::float8 AS lag_seconds, j.last_successful_finish, j.next_start, j.last_error
  FROM kpi.background_jobs j
 ORDER BY j.failing DESC, j.lagging DESC, j.job_id"""

COLUMNS = ("state", "kind", "relation", "consecutive_failures", "total_failures", "lag_seconds",
           "last_successful_finish", "next_start", "last_error")

STATES = (("failing", "red"), ("lagging", "orange"), ("not_run", "transparent"), ("ok", "green"))
KINDS = ("refresh", "compression", "retention", "reorder", "job")


def _words(lang: Language, values: tuple[tuple[str, str | None], ...]) -> list[dict[str, Any]]:
    """A value mapping: raw SQL word -> the word in `lang` (and a colour, when given)."""
    options: dict[str, Any] = {}
    for i, (raw, color) in enumerate(values):
        options[raw] = {"text": TEXTS.text(lang, f"jobs.{raw}"), "index": i, **({"color": color} if color else {})}
    return [{"type": "value", "options": options}]


def jobs_panel(lang: Language) -> Panel:
    by_column = {f.column: f for f in fields(lang, *COLUMNS)}
    state, kind, failures = by_column["state"], by_column["kind"], by_column["consecutive_failures"]
    styled = {
        # the state as a coloured word, the whole cell coloured so a failing job cannot be overlooked
        "state": Field(state.column, state.title, extra=(
            ("mappings", _words(lang, STATES)),
            ("custom.cellOptions", {"type": "color-background"}))),
        "kind": Field(kind.column, kind.title, extra=(("mappings", _words(lang, tuple((k, None) for k in KINDS))),)),
        # any failure in a row is red
        "consecutive_failures": Field(failures.column, failures.title, failures.unit, failures.decimals, extra=(
            ("thresholds", {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                          {"color": "red", "value": 1}]}),
            ("custom.cellOptions", {"type": "color-text"}))),
    }
    return Panel(
        key="jobs", title=TEXTS.text(lang, "jobs"), kind="table", width=24, height=9,
        description=TEXTS.text(lang, "jobs.desc"), no_value=TEXTS.text(lang, "jobs.none"),
        query=Query(JOBS_SQL, Frame.TABLE, COLUMNS),
        fields=tuple(styled.get(c, by_column[c]) for c in COLUMNS),
    )
