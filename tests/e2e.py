"""Helpers for end-to-end tests: the ingester as a real subprocess against the in-process simulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg

from ingester.simulator import GroundTruth, Simulator

KINDS = ("reply", "mention", "quote", "favourite", "reblog", "follow")


def ingester_env(database_url: str, sim: Simulator, salt: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        MASTODON_BASE_URL=sim.base_url,
        MASTODON_ACCESS_TOKEN=sim.token(),
        PULSE_ACCOUNT_SALT=salt,
        PULSE_RECONCILE_SECONDS="1.5",
        PULSE_IDLE_TIMEOUT_SECONDS="6",
        PULSE_BATCH_MAX_AGE_MS="50",
        PULSE_METRICS_PORT="0",
        PULSE_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


class Ingester:
    """`python -m ingester run` in its own process, output captured to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ingester", "run", *args, env=self.env, stdout=out, stderr=out,
            stdin=asyncio.subprocess.DEVNULL,
        )
        out.close()

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def counts(database_url: str, channel: str = "main") -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT kind, count(*) AS n FROM kpi.engagements WHERE channel = $1 GROUP BY kind", channel
        )
    finally:
        await conn.close()
    got = {k: 0 for k in KINDS}
    got.update({r["kind"]: r["n"] for r in rows})
    return got


def expected(truth: GroundTruth, channel: str = "main") -> dict[str, int]:
    totals = truth.totals(channel)
    return {k: totals.get(k, 0) for k in KINDS}


async def wait_for(predicate: Callable[[], object], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return True
        await asyncio.sleep(every)
    return False


async def converge(
    database_url: str, truth: GroundTruth, timeout: float, channel: str = "main", kinds: tuple[str, ...] = KINDS
) -> dict[str, int]:
    """Wait until the counts of `kinds` equal the ground truth twice in a row; return the last counts."""
    want = expected(truth, channel)
    last: dict[str, int] = {}
    hits = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = await counts(database_url, channel)
        hits = hits + 1 if all(last[k] == want[k] for k in kinds) else 0
        if hits >= 2:
            break
        await asyncio.sleep(0.5)
    return last


# -- helpers for the fault tests (test_chaos, test_secrets, bench/soak) --------------------------


def with_port(database_url: str, port: int) -> str:
    """The same database URL on another port (the ingester's view of the database through a TcpProxy)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(database_url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host = hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"))


def db_address(database_url: str) -> tuple[str, int]:
    """(host, port) of the server a postgresql:// URL points at."""
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


# Each query lists rows that break "one row per Mastodon id"; a correct database returns none. The
# hypertables' primary keys include their time column, so these are not implied by the schema.
DUPLICATE_QUERIES = {
    "kpi.engagements": "SELECT channel, kind, source_id FROM kpi.engagements GROUP BY 1, 2, 3 HAVING count(*) > 1",
    "pulse.statuses": "SELECT channel, status_id FROM pulse.statuses GROUP BY 1, 2 HAVING count(*) > 1",
    "pulse.interactions": "SELECT channel, notification_id FROM pulse.interactions GROUP BY 1, 2 HAVING count(*) > 1",
    "pulse.tombstones": "SELECT channel, status_id FROM pulse.tombstones GROUP BY 1, 2 HAVING count(*) > 1",
    "pulse.edits": "SELECT channel, status_id, edited_at FROM pulse.edits GROUP BY 1, 2, 3 HAVING count(*) > 1",
}


async def duplicates(database_url: str) -> dict[str, int]:
    """Per table or view: how many ids occur more than once (all zero when nothing was doubled)."""
    conn = await asyncpg.connect(database_url)
    try:
        return {name: len(await conn.fetch(sql)) for name, sql in DUPLICATE_QUERIES.items()}
    finally:
        await conn.close()


def log_records(text: str) -> list[dict[str, object]]:
    """The JSON log lines of an ingester's output (other lines are skipped)."""
    import json

    out: list[dict[str, object]] = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


async def cli(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[int, str, str]:
    """Run `python -m ingester ARGS` to the end; return (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ingester", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def dump_pulse(database_url: str) -> str:
    """Every row of every table in schema pulse as JSON text, one per line (for 'is X stored anywhere')."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'pulse' AND table_type = 'BASE TABLE'"
        )
        lines: list[str] = []
        for t in tables:
            name = t["table_name"].replace('"', '""')
            rows = await conn.fetch(f'SELECT row_to_json(x)::text AS j FROM pulse."{name}" x')
            lines += [f"{t['table_name']}: {r['j']}" for r in rows]
        return "\n".join(lines)
    finally:
        await conn.close()


async def reap(ingester: Ingester) -> None:
    """SIGKILL the process if it is still running (test teardown: never leave one behind)."""
    if ingester.proc is not None and ingester.proc.returncode is None:
        await ingester.kill9()
