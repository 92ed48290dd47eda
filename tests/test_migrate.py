"""`ingester migrate`: run-once migrations, re-runnable views, tier detection."""

from __future__ import annotations

import threading

import psycopg

from ingester.migrate import detect_tier, migrate


def test_migrate_applies_every_migration_once_and_reports_the_tier(empty_database_url: str) -> None:
    first = migrate(empty_database_url)
    assert "001_base.sql" in first.applied
    assert first.tier.name in {"postgres", "apache", "timescale"}
    second = migrate(empty_database_url)
    assert second.applied == []
    with psycopg.connect(empty_database_url) as conn:
        n = conn.execute("SELECT count(*) FROM pulse.schema_migrations").fetchone()[0]
        assert n == len(first.applied)


def test_concurrent_migrations_queue_on_the_advisory_lock(empty_database_url: str) -> None:
    errors: list[BaseException] = []
    results = []

    def run() -> None:
        try:
            results.append(migrate(empty_database_url))
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(len(r.applied) for r in results)[:2] == [0, 0]


def test_event_tables_are_hypertables_exactly_when_timescaledb_is_installed(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tier = detect_tier(conn)
        if tier.name == "postgres":
            has = conn.execute("SELECT count(*) FROM pg_extension WHERE extname='timescaledb'").fetchone()[0]
            assert has == 0
            return
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema='pulse'"
            )
        }
        assert {"statuses", "interactions", "edits"} <= tables


def test_migrate_records_the_configured_timezone(empty_database_url: str) -> None:
    migrate(empty_database_url, timezone="America/New_York")
    with psycopg.connect(empty_database_url) as conn:
        tz = conn.execute("SELECT value FROM pulse.config WHERE key='timezone'").fetchone()[0]
    assert tz == "America/New_York"


def _migrate_cli(url: str, **env: str) -> "subprocess.CompletedProcess[str]":
    import os
    import subprocess
    import sys

    full = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_URL"))}
    full.update(DATABASE_URL=url, **env)
    return subprocess.run([sys.executable, "-m", "ingester", "migrate"], env=full, capture_output=True, text=True, timeout=120)


def test_the_migrate_command_prints_the_tier_and_writes_the_format_map(empty_database_url: str) -> None:
    proc = _migrate_cli(empty_database_url, PULSE_FORMATS="QenA=qa,Buurtgesprek=neighbourhood_talk")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("database tier: ")
    with psycopg.connect(empty_database_url) as conn:
        rows = conn.execute("SELECT tag, format FROM pulse.formats ORDER BY precedence").fetchall()
    assert rows == [("qena", "qa"), ("buurtgesprek", "neighbourhood_talk")]


def test_a_malformed_format_map_is_one_line_and_exit_2(empty_database_url: str) -> None:
    proc = _migrate_cli(empty_database_url, PULSE_FORMATS="QenA")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["ingester: PULSE_FORMATS: expected tag=format, got 'QenA'"]
