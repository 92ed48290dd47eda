"""A scratch database for one benchmark run: created on a server, migrated, dropped at the end.

The benchmarks measure against a fresh, migrated database of their own so that a run never touches
(or is skewed by) anything else on the server; this is the one place that creates and drops it.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg.conninfo import conninfo_to_dict  # noqa: E402

from ingester.migrate import migrate  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def db_url(admin: str, name: str) -> str:
    """The URL of database `name` on the server (and as the role) of `admin`."""
    p = conninfo_to_dict(admin)
    pw = f":{p['password']}" if p.get("password") else ""
    return f"postgresql://{p.get('user', 'postgres')}{pw}@{p.get('host', '127.0.0.1')}:{p.get('port', '5432')}/{name}"


@contextmanager
def scratch_database(admin: str, schema_dir: Path | None = None) -> Iterator[str]:
    """Create and migrate `pulse_bench_<random>` on `admin`'s server (with `schema_dir`, e.g. an
    earlier release's schema, instead of the current one), print which one on which tier, yield its
    URL, and drop it afterwards (also after a failure or Ctrl-C)."""
    name = f"pulse_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = db_url(admin, name)
        result = migrate(url) if schema_dir is None else migrate(url, schema_dir=schema_dir)
        where = "" if schema_dir is None else f" (schema of {schema_dir})"
        print(f"scratch database {name}{where} on {result.tier.describe()}")
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
