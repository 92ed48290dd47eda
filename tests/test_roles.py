"""Roles: the analyst sees only pseudonymous kpi views and functions; the reader also text."""

from __future__ import annotations

import psycopg
import pytest

from test_kpi_world import build_world, t

SAFE = ["kpi.engagements", "kpi.posts", "kpi.post_stats", "kpi.activity_hourly", "kpi.activity_daily",
        "kpi.account_daily", "kpi.response_times", "kpi.sessions", "kpi.entry_daily", "kpi.background_jobs"]
PRIVATE = ["pulse.statuses", "pulse.accounts", "pulse.interactions", "pulse.entry_counts", "kpi.unanswered", "kpi.replies_live"]


def test_the_three_roles_exist_and_cannot_log_in(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'pulse\\_%' ORDER BY 1"
        ).fetchall()
    assert ("pulse_analyst", False) in rows
    assert ("pulse_reader", False) in rows
    assert ("pulse_writer", False) in rows


@pytest.mark.parametrize("relation", PRIVATE)
def test_the_analyst_is_refused_raw_tables_handles_and_text(database_url: str, relation: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("SET ROLE pulse_analyst")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT * FROM {relation} LIMIT 1")


def test_the_analyst_reads_the_pseudonymous_views_and_the_summary(database_url: str) -> None:
    build_world(database_url)
    with psycopg.connect(database_url) as conn:
        conn.execute("SET ROLE pulse_analyst")
        for view in SAFE:
            conn.execute(f"SELECT * FROM {view} LIMIT 1")
        posts = conn.execute("SELECT posts FROM kpi.summary(%s, %s)", (t(1, 1, 0), t(12, 31, 0))).fetchone()
        weeks = conn.execute("SELECT count(*) FROM kpi.activity(%s, %s, 'week')", (t(1, 1, 0), t(12, 31, 0)))
        assert posts == (5,) and weeks.fetchone()[0] > 0


def test_no_analyst_view_has_a_handle_or_text_column(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        cols = conn.execute(
            """SELECT table_name, column_name FROM information_schema.column_privileges
                WHERE grantee = 'pulse_analyst' AND privilege_type = 'SELECT'"""
        ).fetchall()
    assert {c for _, c in cols} & {"content", "acct", "account", "url_account"} == set()
    assert {f"kpi.{t}" for t, _ in cols} == set(SAFE)


def test_the_reader_sees_the_inbox_and_the_writer_can_write_events(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("SET ROLE pulse_reader")
        conn.execute("SELECT * FROM kpi.unanswered LIMIT 1")
        conn.execute("SELECT * FROM kpi.replies_live LIMIT 1")
        conn.execute("RESET ROLE")
        conn.execute("SET ROLE pulse_writer")
        conn.execute(
            """INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, account_key,
                 source) VALUES ('ams', 'n1', now(), 'follow', 'a', 'stream')"""
        )
