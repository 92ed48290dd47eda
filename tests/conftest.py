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


def _create_db(name: str, template: str | None = None) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        tpl = f" TEMPLATE {template}" if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{tpl}')


def _drop_db(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    name = f"pulse_tpl_{uuid.uuid4().hex[:10]}"
    _create_db(name)
    try:
        # PULSE_TIER=postgres lets the suite run on a server whose TimescaleDB is installed but not preloaded.
        migrate(_dsn_url(name), tier=os.environ.get("PULSE_TIER", "auto"))
        yield name
    finally:
        _drop_db(name)


@pytest.fixture
def database_url(template_db: str) -> Iterator[str]:
    """URL of a fresh, fully migrated, empty database, dropped after the test."""
    name = f"pulse_t_{uuid.uuid4().hex[:12]}"
    _create_db(name, template=template_db)
    try:
        yield _dsn_url(name)
    finally:
        _drop_db(name)


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """URL of a fresh database with nothing in it (for migration tests)."""
    name = f"pulse_e_{uuid.uuid4().hex[:12]}"
    _create_db(name)
    try:
        yield _dsn_url(name)
    finally:
        _drop_db(name)


@pytest.fixture
def salt() -> str:
    return TEST_SALT
