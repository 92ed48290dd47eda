"""kpi.entry_daily: the entry-route funnel per local day and source, for boards, analysts and export."""

from __future__ import annotations

import csv
import io
from datetime import date

import psycopg
from typer.testing import CliRunner

from ingester.cli import app

ROWS = [
    (date(2026, 3, 28), "tram-5", "page_view", 40), (date(2026, 3, 28), "tram-5", "signup_click", 6),
    (date(2026, 3, 28), "tram-5", "reply_click", 2), (date(2026, 3, 28), "sms", "keyword_sms", 9),
    (date(2026, 3, 28), "whatsapp", "keyword_whatsapp", 4), (date(2026, 3, 29), "direct", "page_view", 11),
    (date(2026, 3, 30), "onbekend", "page_view", 1),
]


def seed(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.cursor().executemany("INSERT INTO pulse.entry_counts (day, source, kind, count) VALUES (%s, %s, %s, %s)",
                                  ROWS)


def test_one_row_per_day_and_source_with_every_kind_as_a_column(database_url: str) -> None:
    seed(database_url)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT * FROM kpi.entry_daily ORDER BY day, source").fetchall()
    assert rows == [
        (date(2026, 3, 28), "sms", 0, 0, 0, 9, 0),
        (date(2026, 3, 28), "tram-5", 40, 6, 2, 0, 0),
        (date(2026, 3, 28), "whatsapp", 0, 0, 0, 0, 4),
        (date(2026, 3, 29), "direct", 11, 0, 0, 0, 0),
        (date(2026, 3, 30), "onbekend", 1, 0, 0, 0, 0),
    ]


def test_the_table_refuses_a_source_that_is_not_a_code_and_an_unknown_kind(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        for source, kind in (("<script>", "page_view"), ("tram-5", "ip_address")):
            try:
                conn.execute("INSERT INTO pulse.entry_counts VALUES ('2026-03-28', %s, %s, 1)", (source, kind))
            except psycopg.errors.CheckViolation:
                conn.rollback()
            else:
                raise AssertionError(f"accepted {source!r}/{kind!r}")


def test_reader_and_analyst_read_the_funnel_but_not_the_table_behind_it(database_url: str) -> None:
    seed(database_url)
    with psycopg.connect(database_url) as conn:
        for role in ("pulse_reader", "pulse_analyst"):
            conn.execute(f"SET ROLE {role}")
            assert conn.execute("SELECT sum(page_views) FROM kpi.entry_daily").fetchone()[0] == 52
            conn.execute("RESET ROLE")
        conn.execute("SET ROLE pulse_analyst")
        try:
            conn.execute("SELECT * FROM pulse.entry_counts")
        except psycopg.errors.InsufficientPrivilege:
            pass
        else:
            raise AssertionError("the analyst read pulse.entry_counts")


def test_export_writes_the_funnel_as_csv_for_the_local_days_of_the_range(database_url: str) -> None:
    seed(database_url)
    result = CliRunner().invoke(app, ["export", "entry_daily", "--from", "2026-03-28", "--to", "2026-03-30"],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["day"], r["source"]) for r in rows] == [
        ("2026-03-28", "sms"), ("2026-03-28", "tram-5"), ("2026-03-28", "whatsapp"), ("2026-03-29", "direct")]
    assert rows[1]["page_views"] == "40" and rows[1]["signup_clicks"] == "6" and rows[0]["keyword_sms"] == "9"


def test_export_of_the_funnel_refuses_a_channel(database_url: str) -> None:
    result = CliRunner().invoke(app, ["export", "entry_daily", "--from", "2026-03-28", "--to", "2026-03-30",
                                      "--channel", "ams"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 2 and "do not apply to entry_daily" in result.stderr
