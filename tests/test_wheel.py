"""Installed the way a deployer installs it: the wheel, built from a clean copy of the repository, in a
fresh virtualenv outside the checkout, from the runtime lock and without the test extra. `migrate`, `demo`,
`grafana build` and `grafana push` work from there (they read nothing from the checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from test_fresh_clone import repo_files
from test_grafana_push import DB_PASSWORD, TOKEN, FakeGrafana, grafana  # noqa: F401 - the stand-in fixture

from conftest import ROOT

pytestmark = pytest.mark.slow
UV = Path(sys.executable).parent / "uv"


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """bin/ of a fresh venv holding the wheel and the locked runtime dependencies only."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    for rel in repo_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    sh(UV, "build", "--wheel", "--out-dir", base / "dist", "--quiet", cwd=src)
    [wheel] = (base / "dist").glob("praatmee_pulse-*.whl")
    venv = base / "venv"
    sh(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=base)
    python = venv / "bin" / "python"
    sh(UV, "pip", "install", "--quiet", "--python", python, "--require-hashes", "-r", src / "requirements.lock", cwd=base)
    sh(UV, "pip", "install", "--quiet", "--python", python, "--no-deps", wheel, cwd=base)
    shutil.rmtree(src)  # nothing may be read from a checkout
    yield venv / "bin"


# What `migrate` prints first for each pulse.tier(): a clone of the suite's template has the server's tier.
TIER_LINE = {"postgres": "database tier: plain PostgreSQL", "apache": "database tier: Apache-only TimescaleDB",
             "timescale": "database tier: full TimescaleDB"}


def tier_of(url: str) -> str:
    with psycopg.connect(url) as conn:
        return str(conn.execute("SELECT pulse.tier()").fetchone()[0])  # type: ignore[index]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL", "GRAFANA", "PYTHON", "VIRTUAL_ENV"))}
    return env | extra


def test_the_wheel_carries_the_schema_and_no_test_dependency(installed: Path, tmp_path: Path) -> None:
    out = sh(installed / "python", "-c",
             "import ingester.migrate as m, importlib.util as u; print(m.SCHEMA_DIR); "
             "print(u.find_spec('pytest') is None, u.find_spec('yaml') is not None)", cwd=tmp_path,
             env=clean_env())  # not PYTHONPATH: a worktree's test run sets it to the checkout
    schema_dir, flags = out.splitlines()
    assert "site-packages/ingester/schema" in schema_dir and (Path(schema_dir) / "001_base.sql").is_file()
    assert flags == "True True"
    assert sh(installed / "ingester", "--version", cwd=tmp_path).startswith("ingester (praatmee-pulse) ")


def test_migrate_and_the_demo_run_from_the_installed_wheel(
    installed: Path, empty_database_url: str, tmp_path: Path
) -> None:
    env = clean_env(DATABASE_URL=empty_database_url)
    out = sh(installed / "ingester", "migrate", cwd=tmp_path, env=env)
    assert out.startswith(TIER_LINE[tier_of(empty_database_url)]) and "migrations applied: " in out
    out = sh(installed / "ingester", "demo", "--events", "100", "--history", "200", cwd=tmp_path,
             env=env | {"PULSE_LANGUAGE": "en"})
    assert out.splitlines()[-1].startswith("Everything was fetched")


def test_grafana_build_and_push_run_from_the_installed_wheel(
    installed: Path, grafana: tuple[FakeGrafana, str], database_url: str, tmp_path: Path  # noqa: F811
) -> None:
    out = sh(installed / "ingester", "grafana", "build", "--out", tmp_path / "grafana", cwd=tmp_path,
             env=clean_env())
    for folder in ("provisioning", "provisioning-en"):  # every language, one folder each
        assert (tmp_path / "grafana" / folder / "datasources" / "pulse.yaml").is_file() and "wrote" in out
    fake, url = grafana
    env = clean_env(DATABASE_URL=database_url, GRAFANA_TOKEN=TOKEN, PULSE_GRAFANA_DB_PASSWORD=DB_PASSWORD)
    out = sh(installed / "ingester", "grafana", "push", "--url", url, "--db-host", "db.example:5432",
             cwd=tmp_path, env=env)
    timescaledb = tier_of(database_url) != "postgres"  # the flag follows the server's tier
    assert f"TimescaleDB flag {'on' if timescaledb else 'off'}" in out and fake.violations == []
    assert set(fake.dashboards) == {"pulse-overview", "pulse-live", "pulse-post", "pulse-health"}
    assert fake.datasources["pulse-pg"]["jsonData"]["timescaledb"] is timescaledb
