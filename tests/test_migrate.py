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
