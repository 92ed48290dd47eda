"""Grafana's database login: created in role pulse_reader, read-only, and enough for every query
the boards and alert rules run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from conftest import admin_url
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from test_grafana_boards import options, run
from test_grafana_scenario import live_database
from typer.testing import CliRunner

from ingester.cli import app
from ingester.grafana import alerts
from ingester.grafana.build import dashboards
from ingester.grafana.macros import TimeRange, expand
from ingester.i18n import LANGUAGES
from ingester.migrate import detect_tier

PASSWORD = "reader-pw-placeholder-1"


@pytest.fixture
def login_name() -> Iterator[str]:
    name = f"grafana_t_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def reader_login(database_url: str, user: str, password: str = PASSWORD) -> object:
    env = {"DATABASE_URL": database_url, "PULSE_GRAFANA_DB_USER": user, "PULSE_GRAFANA_DB_PASSWORD": password}
    return CliRunner().invoke(app, ["grafana", "reader-login"], env=env)


def as_user(database_url: str, user: str) -> str:
    params = conninfo_to_dict(database_url)
    return make_conninfo(**{**params, "user": user, "password": PASSWORD})


def test_reader_login_is_a_read_only_member_of_pulse_reader_and_can_be_rerun(
    database_url: str, login_name: str
) -> None:
    first, second = reader_login(database_url, login_name), reader_login(database_url, login_name)
    assert first.exit_code == 0 and "created login" in first.output
    assert second.exit_code == 0 and "updated login" in second.output
    assert PASSWORD not in first.output + second.output
    with psycopg.connect(as_user(database_url, login_name)) as conn:
        assert conn.execute("SELECT pg_has_role(current_user, 'pulse_reader', 'member')").fetchone()[0]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO pulse.config (key, value) VALUES ('x', 'y')")


async def test_every_panel_and_alert_query_runs_as_the_reader_login(database_url: str, login_name: str) -> None:
    await live_database(database_url)
    assert reader_login(database_url, login_name).exit_code == 0
    now = datetime.now(UTC)
    with psycopg.connect(as_user(database_url, login_name)) as conn:
        for board in [b for lang in LANGUAGES for b in dashboards(lang)]:  # every language's boards
            rng = TimeRange(now - timedelta(days=7), now)
            chosen = {"channel": "amsterdam"}
            variables = options(conn, board, rng, chosen)
            for panel in board.panels:
                run(conn, expand(panel.query.sql, rng, variables=variables).sql)
                conn.rollback()
        # the background-jobs rule has rows only where there are jobs: full TimescaleDB
        jobs = detect_tier(conn).name == "timescale"
        for rule in [r for lang in LANGUAGES for r in alerts.rules(lang=lang)]:
            _, rows = run(conn, expand(rule.sql, TimeRange(now - timedelta(minutes=10), now)).sql)
            assert bool(rows) == (jobs or rule.uid != "pulse-background-jobs"), rule.uid


def test_missing_password_names_the_variable_and_exits_2(database_url: str, login_name: str) -> None:
    result = CliRunner().invoke(app, ["grafana", "reader-login"],
                                env={"DATABASE_URL": database_url, "PULSE_GRAFANA_DB_USER": login_name,
                                     "PULSE_GRAFANA_DB_PASSWORD": None})
    assert result.exit_code == 2 and "PULSE_GRAFANA_DB_PASSWORD: missing" in result.output


def test_short_password_is_refused_without_echoing_it(database_url: str, login_name: str) -> None:
    result = reader_login(database_url, login_name, password="short-pw")
    assert result.exit_code == 2 and "at least 12" in result.output and "short-pw" not in result.output
