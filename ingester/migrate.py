"""Apply `schema/` to a database: numbered run-once migrations, then the re-runnable views.

Rules are in `schema/README.md`. Safe to run twice and concurrently (session advisory lock).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

# Installed as a wheel, schema/ ships inside the package (setup.py copies it); in a checkout (editable
# install) it is the top-level schema/ beside the package.
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
if not SCHEMA_DIR.is_dir():
    SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"

_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x5052_4154  # "PRAT": one advisory lock for every migrate run on a database
NO_TRANSACTION = "-- pulse:no-transaction"


class MigrationError(Exception):
    """A migration cannot be applied; `str()` is one readable line."""


@dataclass(frozen=True)
class Tier:
    name: str  # 'timescale' | 'apache' | 'postgres'
    server_version: str
    timescaledb_version: str | None

    def describe(self) -> str:
        if self.name == "timescale":
            return f"full TimescaleDB {self.timescaledb_version} (timescale licence) on PostgreSQL {self.server_version}"
        if self.name == "apache":
            return f"Apache-only TimescaleDB {self.timescaledb_version} on PostgreSQL {self.server_version}"
        return f"plain PostgreSQL {self.server_version} (no TimescaleDB)"


@dataclass(frozen=True)
class MigrateResult:
    tier: Tier
    applied: list[str]
    views: list[str]


def migration_files(schema_dir: Path = SCHEMA_DIR) -> list[Path]:
    files = sorted(p for p in schema_dir.iterdir() if _MIGRATION.match(p.name))
    numbers = [p.name[:3] for p in files]
    dupes = {n for n in numbers if numbers.count(n) > 1}
    if dupes:
        raise MigrationError(f"schema/: two migrations share the number {sorted(dupes)[0]}")
    return files


def view_files(schema_dir: Path = SCHEMA_DIR) -> list[Path]:
    views = schema_dir / "views"
    return sorted(views.glob("*.sql")) if views.is_dir() else []


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def detect_tier(conn: psycopg.Connection) -> Tier:
    server = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        return Tier("postgres", server, None)
    licence = conn.execute("SELECT current_setting('timescaledb.license', true)").fetchone()[0]
    return Tier("timescale" if licence == "timescale" else "apache", server, row[0])


def _ensure_extension(conn: psycopg.Connection) -> None:
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    installed = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if available and not installed:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.Error as exc:
            # Not preloaded or no privilege: carry on as plain PostgreSQL, but say so.
            raise MigrationError(
                f"TimescaleDB is available but could not be enabled: {exc.diag.message_primary}"
            ) from None


def _run_file(conn: psycopg.Connection, path: Path, text: str) -> None:
    try:
        conn.execute(text.encode())  # bytes: run the file as one simple-query script
    except psycopg.Error as exc:
        where = f" ({exc.diag.context.splitlines()[0]})" if exc.diag.context else ""
        raise MigrationError(f"{path.name}: {exc.diag.message_primary}{where}") from None


def migrate(dsn: str, *, timezone: str | None = None, schema_dir: Path = SCHEMA_DIR) -> MigrateResult:
    """Apply pending migrations and all view files; return the tier and what was applied."""
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        raise MigrationError(f"DATABASE_URL: cannot connect ({_first_line(exc)})") from None
    with conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_extension(conn)
            conn.execute("CREATE SCHEMA IF NOT EXISTS pulse")
            conn.execute(
                """CREATE TABLE IF NOT EXISTS pulse.schema_migrations (
                     version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = dict(conn.execute("SELECT name, checksum FROM pulse.schema_migrations").fetchall())
            applied: list[str] = []
            for path in migration_files(schema_dir):
                text = path.read_text(encoding="utf-8")
                if path.name in done:
                    if done[path.name] != _checksum(text):
                        raise MigrationError(
                            f"{path.name}: changed after it was applied; add a new migration instead"
                        )
                    continue
                record = (
                    "INSERT INTO pulse.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"
                )
                args = (path.name[:3], path.name, _checksum(text))
                if text.startswith(NO_TRANSACTION):
                    _run_file(conn, path, text)
                    conn.execute(record, args)
                else:
                    with conn.transaction():
                        _run_file(conn, path, text)
                        conn.execute(record, args)
                applied.append(path.name)
            if timezone is not None:
                conn.execute(
                    "UPDATE pulse.config SET value = %s WHERE key = 'timezone'", (timezone,)
                )
            views = view_files(schema_dir)
            tx_views = [p for p in views if not p.read_text(encoding="utf-8").startswith(NO_TRANSACTION)]
            with conn.transaction():
                for path in tx_views:
                    _run_file(conn, path, path.read_text(encoding="utf-8"))
            for path in views:
                if path not in tx_views:
                    _run_file(conn, path, path.read_text(encoding="utf-8"))
            return MigrateResult(detect_tier(conn), applied, [p.name for p in views])
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
