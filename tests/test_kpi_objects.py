"""What exists in schema kpi on each tier, and that every object and column there is documented."""

from __future__ import annotations

import psycopg

from ingester.migrate import detect_tier, migrate

KPI_VIEWS = {"engagements", "posts", "post_stats", "activity_hourly", "activity_daily", "account_daily",
             "response_times", "unanswered", "replies_live", "entry_daily", "background_jobs"}
KPI_FUNCTIONS = {"summary", "activity", "accounts_daily"}
BASES = {"activity_statuses_1h", "activity_interactions_1h", "activity_statuses_1d", "activity_interactions_1d"}


def test_the_same_kpi_names_exist_on_every_tier(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        views = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'kpi'")}
        funcs = {r[0] for r in conn.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'kpi'")}
    assert KPI_VIEWS <= views
    assert KPI_FUNCTIONS <= funcs


def test_activity_bases_are_continuous_aggregates_exactly_on_full_timescaledb(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tier = detect_tier(conn).name
        if tier == "timescale":
            caggs = {r[0]: r[1] for r in conn.execute(
                "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
                " WHERE view_schema = 'pulse'")}
            assert set(caggs) == BASES
            assert not any(caggs.values())  # real-time
            policies = conn.execute(
                "SELECT count(*) FROM timescaledb_information.jobs"
                " WHERE proc_name = 'policy_refresh_continuous_aggregate'").fetchone()[0]
            assert policies == 4
        else:
            kinds = {r[0]: r[1] for r in conn.execute(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'pulse' AND c.relname LIKE 'activity\\_%'")}
            assert kinds == {name: "v" for name in BASES}  # ordinary views


def test_every_kpi_view_column_and_function_has_a_comment(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        bare_views = conn.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'kpi' AND c.relkind IN ('v', 'm')
                  AND obj_description(c.oid, 'pg_class') IS NULL""").fetchall()
        bare_cols = conn.execute(
            """SELECT c.relname, a.attname FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE n.nspname = 'kpi' AND c.relkind IN ('v', 'm')
                  AND col_description(c.oid, a.attnum) IS NULL""").fetchall()
        bare_funcs = conn.execute(
            """SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'kpi' AND obj_description(p.oid, 'pg_proc') IS NULL""").fetchall()
    assert (bare_views, bare_cols, bare_funcs) == ([], [], [])


def test_a_second_migrate_changes_nothing_and_keeps_the_grants(database_url: str) -> None:
    result = migrate(database_url)
    assert result.applied == []
    with psycopg.connect(database_url) as conn:
        ok = conn.execute(
            "SELECT has_table_privilege('pulse_analyst', 'kpi.post_stats', 'SELECT'),"
            " has_table_privilege('pulse_analyst', 'kpi.unanswered', 'SELECT')").fetchone()
    assert ok == (True, False)
