"""kpi.background_jobs, the Ingester health board's *Background jobs (TimescaleDB)* panel and the
`pulse-background-jobs` alert: TimescaleDB's jobs with their failures and each aggregate's lag, the same
columns on every tier, rows only on full TimescaleDB.

The TimescaleDB side runs on the PGlite double (tests/timescale.py). It has no job scheduler, and
`run_job` runs a job in the caller's session without recording anything, so a run's outcome is written
into TimescaleDB's own statistics the way its scheduler writes them (`record_run`), after the job
itself has really been run.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from test_grafana_alerts import evaluate
from test_grafana_boards import check_frame, run
from test_grafana_scenario import live_database

from ingester.grafana import alerts
from ingester.grafana.boards_jobs import JOBS_SQL, jobs_panel
from ingester.grafana.boards_live import health
from ingester.grafana.macros import TimeRange, expand
from ingester.grafana.model import Frame, Query
from ingester.i18n import LANGUAGES
from ingester.migrate import detect_tier
from timescale import timescale_server, timescale_url  # noqa: F401  (fixtures)

CONTRACT = [
    ("job_id", "integer"), ("kind", "text"), ("proc", "text"), ("relation", "text"), ("scheduled", "boolean"),
    ("schedule_interval", "interval"), ("last_run_status", "text"),
    ("last_run_started_at", "timestamp with time zone"), ("last_successful_finish", "timestamp with time zone"),
    ("consecutive_failures", "integer"), ("total_runs", "bigint"), ("total_failures", "bigint"),
    ("next_start", "timestamp with time zone"), ("last_error", "text"),
    ("materialized_until", "timestamp with time zone"), ("lag", "interval"), ("lag_limit", "interval"),
    ("failing", "boolean"), ("lagging", "boolean"),
]
RULE = {r.uid: r for r in alerts.rules()}["pulse-background-jobs"]
CAGGS = ("activity_statuses_1h", "activity_interactions_1h", "activity_statuses_1d", "activity_interactions_1d")


def contract_columns(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [(str(c), str(t)) for c, t in conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'kpi' AND table_name = 'background_jobs' ORDER BY ordinal_position").fetchall()]


def jobs(conn: psycopg.Connection, where: str = "true", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(f"SELECT * FROM kpi.background_jobs WHERE {where} ORDER BY job_id", params)
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def panel_rows(url: str) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    query = Query(JOBS_SQL, Frame.TABLE, jobs_panel("en").query.columns)
    with psycopg.connect(url) as conn:
        cols, rows = run(conn, expand(query.sql, TimeRange(now - timedelta(hours=6), now)).sql)
    check_frame(query, cols, rows)
    return rows


def alert_instances(url: str) -> dict[str, alerts.Evaluation]:
    """The jobs rule evaluated as Grafana would: one instance per job, by its `job` label."""
    result = evaluate(url, RULE)
    assert not isinstance(result, str), f"no rows: {result}"
    return {dict(e.labels)["job"]: e for e in result}


def record_run(url: str, job_id: int, *, succeeded: bool, error: str | None = None) -> None:
    """What TimescaleDB's scheduler writes after a run of `job_id` that ended just now (the double has none)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO _timescaledb_internal.bgw_job_stat AS s
                 (job_id, last_start, last_finish, next_start, last_successful_finish, last_run_success, total_runs,
                  total_duration, total_duration_failures, total_successes, total_failures, total_crashes,
                  consecutive_failures, consecutive_crashes)
               VALUES (%(job)s, now() - interval '2 seconds', now(), now() + interval '1 hour',
                       CASE WHEN %(ok)s THEN now() ELSE '-infinity' END, %(ok)s, 1, interval '2 seconds',
                       CASE WHEN %(ok)s THEN interval '0' ELSE interval '2 seconds' END,
                       %(ok)s::int, (NOT %(ok)s)::int, 0, (NOT %(ok)s)::int, 0)
               ON CONFLICT (job_id) DO UPDATE SET
                 last_start = excluded.last_start, last_finish = excluded.last_finish,
                 next_start = excluded.next_start, last_run_success = excluded.last_run_success,
                 last_successful_finish = CASE WHEN %(ok)s THEN now() ELSE s.last_successful_finish END,
                 total_runs = s.total_runs + 1, total_successes = s.total_successes + %(ok)s::int,
                 total_failures = s.total_failures + (NOT %(ok)s)::int,
                 consecutive_failures = CASE WHEN %(ok)s THEN 0 ELSE s.consecutive_failures + 1 END""",
            {"job": job_id, "ok": succeeded})
        if not succeeded:
            conn.execute(
                """INSERT INTO _timescaledb_internal.bgw_job_stat_history
                     (job_id, pid, execution_start, execution_finish, succeeded, data)
                   VALUES (%s, 4242, now() - interval '2 seconds', now(), false,
                           jsonb_build_object('error_data', jsonb_build_object('message', %s::text,
                                                                               'sqlerrcode', 'P0001')))""",
                (job_id, error))


def forget_runs(url: str, *job_ids: int) -> None:
    """Back to "never ran" for the jobs the test recorded runs of (the server lives for the whole session)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM _timescaledb_internal.bgw_job_stat_history WHERE job_id = ANY(%s)", (list(job_ids),))
        conn.execute("DELETE FROM _timescaledb_internal.bgw_job_stat WHERE job_id = ANY(%s)", (list(job_ids),))


def policy_of(url: str, cagg: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT job_id FROM kpi.background_jobs WHERE kind = 'refresh' AND relation = %s",
                           (f"pulse.{cagg}",)).fetchone()
    assert row is not None, cagg
    return int(row[0])


# -- every tier ------------------------------------------------------------------------------


def test_the_view_has_the_contract_columns_on_every_tier_and_rows_only_on_full_timescaledb(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tier = detect_tier(conn).name
        assert contract_columns(conn) == CONTRACT
        rows = jobs(conn)
        text = conn.execute("SELECT pg_get_viewdef('kpi.background_jobs'::regclass)").fetchone()
    assert bool(rows) == (tier == "timescale")
    if tier != "timescale":  # nothing there to name: the view must not depend on TimescaleDB objects
        assert text is not None and "timescaledb" not in text[0]


async def test_on_plain_postgresql_the_panel_is_empty_and_says_why_and_the_alert_stays_ok(
    plain_database_url: str,  # plain PostgreSQL on whatever server the suite runs against
) -> None:
    await live_database(plain_database_url)  # a busy channel: the emptiness is the tier's, not the data's
    with psycopg.connect(plain_database_url) as conn:
        assert detect_tier(conn).name == "postgres"
    assert panel_rows(plain_database_url) == []
    assert evaluate(plain_database_url, RULE) == "OK"  # no rows = NoData, which this rule treats as OK
    for lang in LANGUAGES:
        [panel] = [p for p in health(lang).panels if p.key == "jobs"]
        assert "PostgreSQL" in panel.to_json(1, 0, 0)["fieldConfig"]["defaults"]["noValue"]


# -- full TimescaleDB (the double) --------------------------------------------------------------


def test_after_migrate_every_policy_and_the_catch_up_job_are_listed_with_kind_and_relation(
    timescale_url: str,  # noqa: F811
) -> None:
    with psycopg.connect(timescale_url) as conn:
        assert contract_columns(conn) == CONTRACT  # the same contract as on plain PostgreSQL
        listed = {(j["kind"], j["relation"] or j["proc"]) for j in jobs(conn)}
    listed.discard(("retention", "pulse.heartbeats"))  # the service installs that one (apply_retention)
    expected = {("refresh", f"pulse.{c}") for c in CAGGS} | {("compression", f"pulse.{c}") for c in CAGGS}
    expected |= {("retention", f"pulse.{c}") for c in CAGGS if c.endswith("_1h")}
    for table in ("statuses", "interactions", "post_snapshots"):
        expected |= {("compression", f"pulse.{table}"), ("retention", f"pulse.{table}")}
    expected.add(("job", "pulse.refresh_aggregates_job"))
    assert listed == expected  # and not TimescaleDB's own housekeeping jobs


def test_a_job_that_keeps_failing_shows_its_error_and_failures_and_fires_the_alert_until_it_succeeds(
    timescale_url: str,  # noqa: F811
) -> None:
    proc = f"pulse.failing_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(f"""CREATE PROCEDURE {proc}(job_id integer, config jsonb) LANGUAGE plpgsql AS $$
                         BEGIN RAISE EXCEPTION 'cannot drop portal "" while it is being set up'; END $$""")
        added = conn.execute("SELECT add_job(%s, interval '1 hour')", (proc,)).fetchone()
    assert added is not None
    job_id = int(added[0])
    try:
        for _ in range(2):
            with psycopg.connect(timescale_url, autocommit=True) as conn, pytest.raises(psycopg.Error) as failed:
                conn.execute(f"CALL run_job({job_id})")
            record_run(timescale_url, job_id, succeeded=False, error=failed.value.diag.message_primary)
        with psycopg.connect(timescale_url) as conn:
            [row] = jobs(conn, "job_id = %s", (job_id,))
        assert (row["kind"], row["proc"], row["relation"]) == ("job", proc, None)
        assert (row["last_run_status"], row["consecutive_failures"], row["total_runs"], row["total_failures"]) == (
            "Failed", 2, 2, 2)
        assert row["last_error"] == 'cannot drop portal "" while it is being set up'
        assert (row["failing"], row["lagging"], row["lag"]) == (True, False, None)
        assert panel_rows(timescale_url)[0][:5] == ("failing", "job", proc, 2, 2)  # first, in red
        label = f"job {proc} #{job_id}"
        firing = alert_instances(timescale_url)[label]
        assert (firing.state, firing.value) == ("Alerting", 1.0)

        record_run(timescale_url, job_id, succeeded=True)
        with psycopg.connect(timescale_url) as conn:
            [row] = jobs(conn, "job_id = %s", (job_id,))
        assert (row["last_run_status"], row["consecutive_failures"], row["total_failures"], row["last_error"],
                row["failing"]) == ("Success", 0, 2, None, False)
        assert alert_instances(timescale_url)[label].state == "Normal"
    finally:
        forget_runs(timescale_url, job_id)
        with psycopg.connect(timescale_url, autocommit=True) as conn:
            conn.execute("SELECT delete_job(%s)", (job_id,))  # run_all_jobs of later tests must not meet it
            conn.execute(f"DROP PROCEDURE {proc}(integer, jsonb)")


def test_an_aggregate_materialised_up_to_hours_ago_lags_by_that_much_and_fires_the_alert(
    timescale_url: str,  # noqa: F811
) -> None:
    occurred = datetime.now(UTC) - timedelta(hours=3)
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                        account_key, source)
                        VALUES ('ams', 'lag-1', %s, 'favourite', '1', 'k', 'rest')""", (occurred,))
    policy = policy_of(timescale_url, "activity_interactions_1h")
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(f"CALL run_job({policy})")  # really refreshes; the double records no run
        [row] = jobs(conn, "job_id = %s", (policy,))
        same_now = conn.execute("SELECT lag = now() - materialized_until FROM kpi.background_jobs WHERE job_id = %s",
                                (policy,)).fetchone()
    end_of_hour = occurred.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert row["materialized_until"] == end_of_hour  # the watermark: the end of the event's hour
    assert same_now == (True,)  # no successful run known: the lag is now() - watermark, 2 to 3 hours
    assert timedelta(hours=2) <= row["lag"] < timedelta(hours=3)
    assert (row["lag_limit"], row["lagging"], row["failing"]) == (timedelta(hours=1, minutes=3), True, False)
    rows = panel_rows(timescale_url)
    assert ("lagging", "refresh", "pulse.activity_interactions_1h") in [r[:3] for r in rows]
    states = {label: e.state for label, e in alert_instances(timescale_url).items()}
    assert states[f"refresh pulse.activity_interactions_1h #{policy}"] == "Alerting"
    quiet = policy_of(timescale_url, "activity_statuses_1h")
    assert states[f"refresh pulse.activity_statuses_1h #{quiet}"] == "Normal"  # nothing materialised: no lag known


def test_a_refresh_policy_that_just_succeeded_is_not_lagging_however_old_the_newest_event(
    timescale_url: str,  # noqa: F811
) -> None:
    # A quiet channel: the newest event (and so the watermark) is hours old, but the policy ran a
    # moment ago; the aggregate is materialised up to (that run - end_offset), and nothing is behind.
    occurred = datetime.now(UTC) - timedelta(hours=5)
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                        account_key, source)
                        VALUES ('ams', 'quiet-1', %s, 'favourite', '1', 'k', 'rest')""", (occurred,))
    policy = policy_of(timescale_url, "activity_interactions_1h")
    try:
        with psycopg.connect(timescale_url, autocommit=True) as conn:
            conn.execute(f"CALL run_job({policy})")
        record_run(timescale_url, policy, succeeded=True)
        with psycopg.connect(timescale_url) as conn:
            [row] = jobs(conn, "job_id = %s", (policy,))
        assert row["materialized_until"] < datetime.now(UTC) - timedelta(hours=3)
        assert timedelta(minutes=1) <= row["lag"] < timedelta(minutes=2)  # end_offset 1 minute
        assert (row["last_run_status"], row["lagging"], row["failing"]) == ("Success", False, False)
        assert alert_instances(timescale_url)[f"refresh pulse.activity_interactions_1h #{policy}"].state == "Normal"
    finally:
        forget_runs(timescale_url, policy)


def test_the_analyst_sees_jobs_and_watermarks_that_only_the_aggregates_owner_may_read(
    timescale_url: str,  # noqa: F811
) -> None:
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                        account_key, source)
                        VALUES ('ams', 'analyst-1', now() - interval '2 hours', 'favourite', '1', 'k', 'rest')""")
    policy = policy_of(timescale_url, "activity_interactions_1h")
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(f"CALL run_job({policy})")
        mat_id = conn.execute("SELECT (config ->> 'mat_hypertable_id')::integer FROM timescaledb_information.jobs"
                              " WHERE job_id = %s", (policy,)).fetchone()
        conn.execute("SET ROLE pulse_analyst")
        listed = conn.execute("SELECT count(*) FROM kpi.background_jobs").fetchone()
        seen = conn.execute("SELECT materialized_until IS NOT NULL FROM kpi.background_jobs WHERE job_id = %s",
                            (policy,)).fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # what the view reads on the analyst's behalf
            conn.execute("SELECT _timescaledb_functions.cagg_watermark(%s)", mat_id)
        conn.execute("RESET ROLE")
    assert listed is not None and listed[0] >= 17  # every policy and the catch-up job
    assert seen == (True,)
