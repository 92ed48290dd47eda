"""Shared fixtures: a real PostgreSQL (never mocked), one fresh migrated database per test.

`TEST_DATABASE_URL` points at any server (plain PostgreSQL, Apache-only or full TimescaleDB) with a
role allowed to CREATE DATABASE; the default is this machine's local PostgreSQL. The suite migrates
one template database per run and clones it for every test, so each test starts from an empty,
fully migrated schema in ~0.1 s.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ingester.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MASTODON = SHARED / "mastodon"
DATA = Path(__file__).resolve().parent / "data"  # what the suite needs besides the corpus, held here

# The recorded Mastodon corpus stays outside the repository (beside the development checkout and in CI).
# Tests that read it run whenever it is there and are skipped, with this reason, when it is not;
# `.ci/run` sets PULSE_REQUIRE_CORPUS=1, which turns its absence into a failure.
CORPUS_REQUIRED = os.environ.get("PULSE_REQUIRE_CORPUS", "") not in ("", "0")
CORPUS_ABSENT = "the recorded Mastodon corpus ../shared/mastodon is not beside this checkout"
corpus = pytest.mark.corpus  # a test that reads the corpus


def require_corpus() -> None:
    """Call at the top of a module whose module-level code reads the corpus."""
    if not MASTODON.is_dir():
        pytest.skip(CORPUS_ABSENT, allow_module_level=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    if CORPUS_REQUIRED and not MASTODON.is_dir():
        pytest.exit(f"{CORPUS_ABSENT}, and PULSE_REQUIRE_CORPUS=1 requires it", returncode=1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MASTODON.is_dir():
        return
    for item in items:
        if item.get_closest_marker("corpus"):
            item.add_marker(pytest.mark.skip(reason=CORPUS_ABSENT))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TEST_SALT = "test-salt-placeholder-1"
CLONE_ATTEMPTS = 5  # each waits up to 5 s inside CREATE DATABASE for the template's sessions to end


def admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)


def url_for(dbname: str) -> str:
    params = conninfo_to_dict(admin_url())
    params["dbname"] = dbname
    return make_conninfo(**params)


def _dsn_url(dbname: str) -> str:
    """A postgresql:// URL (asyncpg and settings want URLs, not key=value conninfo)."""
    p = conninfo_to_dict(admin_url())
    user = p.get("user", "postgres")
    pw = f":{p['password']}" if p.get("password") else ""
    host = p.get("host", "127.0.0.1")
    port = p.get("port", "5432")
    return f"postgresql://{user}{pw}@{host}:{port}/{dbname}"


def create_db(name: str, template: str | None = None) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        if template is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            return
        # CREATE DATABASE ... TEMPLATE needs the template to itself. A sealed template admits no new
        # session, but one that was already connecting may still be on it: end it and try again.
        for attempt in range(CLONE_ATTEMPTS):
            try:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except psycopg.errors.ObjectInUse:
                if attempt == CLONE_ATTEMPTS - 1:
                    raise
                _end_sessions(conn, template)


def _end_sessions(conn: psycopg.Connection, dbname: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    )


def seal_template(name: str) -> None:
    """Make a migrated database fit to clone: no session on it now or later.

    On full TimescaleDB the launcher starts a job scheduler in every database that has the extension,
    and that scheduler (and the jobs it starts) stays connected, so every CREATE DATABASE ... TEMPLATE
    failed with "source database is being accessed by other users". Its scheduler is stopped, the
    database refuses connections from now on (the launcher skips such databases, as it skips
    template0), and whatever was still connected is ended. The clones allow connections as usual.
    """
    with psycopg.connect(url_for(name), autocommit=True) as conn:
        if conn.execute("SELECT to_regproc('_timescaledb_functions.stop_background_workers')").fetchone()[0]:
            conn.execute("SELECT _timescaledb_functions.stop_background_workers()")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        _end_sessions(conn, name)


def drop_db(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    name = f"pulse_tpl_{uuid.uuid4().hex[:10]}"
    create_db(name)
    try:
        # PULSE_TIER=postgres lets the suite run on a server whose TimescaleDB is installed but not preloaded.
        migrate(_dsn_url(name), tier=os.environ.get("PULSE_TIER", "auto"))
        seal_template(name)
        yield name
    finally:
        drop_db(name)


@pytest.fixture
def database_url(template_db: str) -> Iterator[str]:
    """URL of a fresh, fully migrated, empty database, dropped after the test."""
    name = f"pulse_t_{uuid.uuid4().hex[:12]}"
    create_db(name, template=template_db)
    try:
        yield _dsn_url(name)
    finally:
        drop_db(name)


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """URL of a fresh database with nothing in it (for migration tests)."""
    name = f"pulse_e_{uuid.uuid4().hex[:12]}"
    create_db(name)
    try:
        yield _dsn_url(name)
    finally:
        drop_db(name)


@pytest.fixture
def plain_database_url(empty_database_url: str) -> str:
    """URL of a fresh database migrated for the plain PostgreSQL tier on whatever server TEST_DATABASE_URL names:
    on a TimescaleDB server the extension is simply not created in it (PULSE_TIER=postgres), so tests of the
    plain tier test plain PostgreSQL there too. A migrate takes ~1 s."""
    migrate(empty_database_url, tier="postgres")
    return empty_database_url


@pytest.fixture
def salt() -> str:
    return TEST_SALT
