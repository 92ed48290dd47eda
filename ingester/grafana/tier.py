"""Which tier does Grafana's datasource talk to? `grafana push` sets the datasource's TimescaleDB flag
from the answer, so that on plain PostgreSQL Grafana expands `$__timeGroup` without time_bucket()."""

from __future__ import annotations

import psycopg

from ingester.migrate import MigrationError, connect_failure, detect_tier

CHOICES = ("auto", "timescaledb", "postgres")


def timescaledb_flag(choice: str, dsn: str | None) -> tuple[bool, str]:
    """(flag, what was found) for --tier `choice`; with auto, ask the database at `dsn`.

    Raises MigrationError (one line, no URL) when the database cannot be asked."""
    if choice == "timescaledb":
        return True, "TimescaleDB (--tier timescaledb)"
    if choice == "postgres":
        return False, "plain PostgreSQL (--tier postgres)"
    assert dsn is not None
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            tier = detect_tier(conn)
    except psycopg.OperationalError as exc:
        raise MigrationError(f"DATABASE_URL: {connect_failure(exc)}") from None
    # Apache-only TimescaleDB has time_bucket() too; only plain PostgreSQL needs the flag off.
    return tier.name != "postgres", tier.describe()
