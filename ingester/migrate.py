"""Apply `schema/` to a database: numbered run-once migrations, then the re-runnable views.

Rules are in `schema/README.md`. Safe to run twice and concurrently (session advisory lock).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from ingester.progress import raised_by_sql

# Installed as a wheel, schema/ ships inside the package (setup.py copies it); in a checkout (editable
# install) it is the top-level schema/ beside the package.
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
if not SCHEMA_DIR.is_dir():
    SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"

_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x5052_4154  # "PRAT": one advisory lock for every migrate run on a database
NO_TRANSACTION = "-- pulse:no-transaction"
LOCK_NOT_AVAILABLE = "55P03"
LOCK_ATTEMPTS = 5
LOCK_RETRY_SECONDS = 1.0  # times the attempt number


class MigrationError(Exception):
    """A migration cannot be applied; `str()` is one readable line."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate  # the server's error code, when the server refused a file


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


PRELOAD_FIX = (
    "add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart PostgreSQL, "
    "or set PULSE_TIER=postgres to use plain PostgreSQL"
)


def extension_plan(*, available: bool, installed: bool, preloaded: bool | None, wanted: str = "auto") -> bool:
    """Whether to CREATE EXTENSION timescaledb (pure). Raises MigrationError, one line with the fix, when
    the server cannot give the tier asked for. `wanted` is PULSE_TIER: auto | timescaledb | postgres."""
    if installed or wanted == "postgres":
        return False
    if not available:
        if wanted == "timescaledb":
            raise MigrationError(
                "PULSE_TIER=timescaledb but this PostgreSQL server has no TimescaleDB extension — "
                "install TimescaleDB on the server, or set PULSE_TIER=postgres (or auto)"
            )
        return False
    if preloaded is False:  # None: this role may not read the setting; CREATE EXTENSION will tell
        # CREATE EXTENSION would end the session with a FATAL: say so before trying.
        raise MigrationError(f"TimescaleDB is installed on the server but not preloaded — {PRELOAD_FIX}")
    return True


# What the server offers of TimescaleDB, read in one query by `migrate` (psycopg) and `check` (asyncpg):
# available on the server, installed in this database, and shared_preload_libraries.
EXTENSION_STATE_SQL = """SELECT
    EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
    EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
    (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries')"""


def preloaded_from(setting: str | None) -> bool | None:
    """Is timescaledb in shared_preload_libraries? None when the role may not read the setting
    (pg_settings hides it from roles without pg_read_all_settings)."""
    if setting is None:
        return None
    return "timescaledb" in {lib.strip().strip('"') for lib in setting.split(",")}


def plan_from_state(state: Sequence[Any], wanted: str = "auto") -> bool:
    """`extension_plan` for one row of EXTENSION_STATE_SQL."""
    available, installed, preloads = state
    return extension_plan(available=available, installed=installed, preloaded=preloaded_from(preloads), wanted=wanted)


def _ensure_extension(conn: psycopg.Connection, wanted: str = "auto") -> None:
    if not plan_from_state(conn.execute(EXTENSION_STATE_SQL).fetchone(), wanted):  # type: ignore[arg-type]
        return
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        message = exc.diag.message_primary or ""
        if "preload" in message or conn.closed:
            raise MigrationError(f"TimescaleDB is installed on the server but not preloaded — {PRELOAD_FIX}") from None
        raise MigrationError(
            f"TimescaleDB is available but could not be enabled ({message or type(exc).__name__}) — "
            "run `ingester migrate` as a role allowed to CREATE EXTENSION, or set PULSE_TIER=postgres"
        ) from None


class _Notices:
    """Passes the `RAISE NOTICE`s of the schema files to `progress`, each named by the file that raised it."""

    def __init__(self, conn: psycopg.Connection, progress: Callable[[str], None]) -> None:
        self.file = ""  # the file running now
        self._progress = progress
        conn.execute("SET client_min_messages = notice")
        conn.add_notice_handler(self._notice)

    def _notice(self, diag: psycopg.errors.Diagnostic) -> None:
        if raised_by_sql(diag):
            self._progress(f"{self.file}: {diag.message_primary}")


def _run_file(conn: psycopg.Connection, path: Path, text: str, notices: _Notices | None = None) -> None:
    if notices is not None:
        notices.file = path.name
    try:
        conn.execute(text.encode())  # bytes: run the file as one simple-query script
    except psycopg.Error as exc:
        where = f" ({exc.diag.context.splitlines()[0]})" if exc.diag.context else ""
        raise MigrationError(f"{path.name}: {exc.diag.message_primary}{where}", exc.sqlstate) from None


def _run_repeatable(conn: psycopg.Connection, path: Path, text: str, notices: _Notices | None = None) -> None:
    """Run a re-runnable no-transaction view file, again when it met a busy lock (55P03): on full
    TimescaleDB a refresh policy the scheduler has just started refuses our overlapping refresh of
    the same aggregate ("due to a concurrent refresh"); it is done within seconds."""
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            _run_file(conn, path, text, notices)
            return
        except MigrationError as exc:
            if attempt == LOCK_ATTEMPTS or conn.closed or exc.sqlstate != LOCK_NOT_AVAILABLE:
                raise
            time.sleep(LOCK_RETRY_SECONDS * attempt)


def migrate(
    dsn: str, *, timezone: str | None = None, schema_dir: Path = SCHEMA_DIR, tier: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> MigrateResult:
    """Apply pending migrations and all view files; return the tier and what was applied.

    `tier` is PULSE_TIER: auto (TimescaleDB when the server has it), timescaledb or postgres. `progress`
    is given each `RAISE NOTICE` of a schema file as '<file>: <message>' the moment the server sends it
    (long steps such as rebuilding structures from the stored events report how far they are).
    `schema_dir` is for tests: another release's schema."""
    from ingester.dsn import dsn_problem

    problem = dsn_problem(dsn)
    if problem:
        raise MigrationError(f"DATABASE_URL: {problem}")
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise MigrationError(f"DATABASE_URL: {connect_failure(exc)}") from None
    with conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_extension(conn, tier)
            notices = _Notices(conn, progress) if progress is not None else None
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
                    _run_file(conn, path, text, notices)
                    conn.execute(record, args)
                else:
                    with conn.transaction():
                        _run_file(conn, path, text, notices)
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
                    _run_file(conn, path, path.read_text(encoding="utf-8"), notices)
            for path in views:
                if path not in tx_views:
                    _run_repeatable(conn, path, path.read_text(encoding="utf-8"), notices)
            return MigrateResult(detect_tier(conn), applied, [p.name for p in views])
        finally:
            if not conn.closed:  # a FATAL ended the session (and its lock): do not hide the cause
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


_UNRESOLVED = "the host name cannot be resolved — check the host in the URL"
_REFUSED = "the server refused the connection — check the host and port, and that PostgreSQL is running"
_SILENT = "the server did not answer in time — check the host and port, and that PostgreSQL is running"


def connect_failure(exc: BaseException) -> str:
    """Why a connection failed and what to do, in words that never carry the URL or its password.

    libpq's message names the host (and may echo parts of a malformed URL), so it is matched, not shown.
    The exception's type decides first (asyncpg raises OS errors), then libpq's words.
    """
    import socket

    low = str(exc).lower()
    if isinstance(exc, socket.gaierror) or "temporary failure in name resolution" in low:
        return _UNRESOLVED
    if isinstance(exc, ConnectionRefusedError) or "connect call failed" in low:
        return _REFUSED
    if isinstance(exc, TimeoutError):
        return _SILENT
    if isinstance(exc, ValueError):  # asyncpg's ClientConfigurationError: a parameter it cannot use
        return "a parameter after '?' in the URL has a value the driver does not accept — check the parameters"
    if "password authentication failed" in low or "no password supplied" in low:
        return "the database rejected the user name or password — check them in the URL"
    if "does not exist" in low and "database" in low:
        return "the database does not exist — create it (createdb) or fix its name in the URL"
    if "does not exist" in low and "role" in low:
        return "the user does not exist on the server — create the role or fix the user name in the URL"
    if "could not translate host name" in low or "failed to resolve" in low or "name or service not known" in low:
        return _UNRESOLVED
    if "timeout" in low or "timed out" in low:
        return _SILENT
    if "connection refused" in low or "could not connect" in low or "connection failed" in low:
        return _REFUSED
    if "ssl" in low:
        return "the TLS handshake failed — check sslmode in the URL"
    if "pg_hba.conf" in low:
        return "the server does not allow this client (pg_hba.conf) — ask the database administrator"
    return f"cannot connect ({type(exc).__name__}) — check the URL and that PostgreSQL is running"
