"""A bad token, a missing scope or an unreachable server: clear one-line errors, non-zero exits, no secrets."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path

import pytest

from e2e import Ingester, ingester_env, wait_for
from ingester.simulator import ChannelSpec, SimConfig, Simulator, TokenSpec
from ingester.simulator.config import DEV_TOKEN

BAD_TOKEN = "revoked-token-4f1e9a7c2b5d8e3f6a0c"
NARROW_TOKEN = "narrow-token-9b8a7c6d5e4f3a2b1c0d"


async def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ingester", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def sim():
    cfg = SimConfig(extra_tokens=(TokenSpec(token=NARROW_TOKEN, channel="main", scopes=("read:notifications",)),))
    async with Simulator(cfg) as s:
        yield s


@pytest.mark.parametrize("command", ["run", "check"])
async def test_a_revoked_token_stops_with_one_clear_line_and_never_prints_the_token(
    command: str, sim: Simulator, database_url: str, salt: str
) -> None:
    env = ingester_env(database_url, sim, salt, MASTODON_ACCESS_TOKEN=BAD_TOKEN)
    code, out, err = await _cli(env, command)
    assert code != 0
    assert BAD_TOKEN not in out + err
    assert salt not in out + err
    assert "Traceback" not in out + err
    failing = [line for line in (out + err).splitlines() if "401" in line]
    assert failing and "MASTODON_ACCESS_TOKEN" in failing[0] and "invalid or was revoked" in failing[0]
    if command == "run":
        assert err.strip().count("\n") == 0  # one line on stderr


async def test_a_token_without_the_needed_scope_says_which_scopes_it_needs(
    sim: Simulator, database_url: str, salt: str
) -> None:
    env = ingester_env(database_url, sim, salt, MASTODON_ACCESS_TOKEN=NARROW_TOKEN)
    code, out, err = await _cli(env, "run")
    assert code != 0
    assert NARROW_TOKEN not in out + err
    assert "403" in err and "read:notifications" in err and "read:statuses" in err


async def test_check_passes_with_a_good_token_one_line_per_check(sim: Simulator, database_url: str, salt: str) -> None:
    env = ingester_env(database_url, sim, salt)
    code, out, err = await _cli(env, "check")
    assert code == 0, out + err
    lines = out.strip().splitlines()
    assert [line.split(":")[0].split(" [")[0] for line in lines] == [
        "settings", "database", "token", "streaming health", "streaming token",
    ]
    assert all(": ok" in line for line in lines)
    assert sim.token() not in out + err


async def test_check_fails_when_the_database_is_not_migrated(sim: Simulator, empty_database_url: str, salt: str) -> None:
    env = ingester_env(empty_database_url, sim, salt)
    code, out, _ = await _cli(env, "check")
    assert code == 1
    assert "database: FAIL" in out and "ingester migrate" in out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_unreachable_server_is_retried_with_backoff_and_logged(
    sim: Simulator, database_url: str, salt: str, tmp_path: Path
) -> None:
    env = ingester_env(database_url, sim, salt, MASTODON_BASE_URL=f"http://127.0.0.1:{_closed_port()}")
    ingester = Ingester(env, tmp_path / "log")
    await ingester.start()

    def retries() -> list[dict]:
        out = []
        for line in ingester.output().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("event") == "mastodon unreachable, retrying":
                out.append(rec)
        return out

    assert await wait_for(lambda: len(retries()) >= 3, 60)
    assert await ingester.stop() == 0  # SIGTERM while still waiting for the server: a clean stop
    attempts = [r["attempt"] for r in retries()]
    assert attempts[:3] == [1, 2, 3]
    assert all(r["call"] == "verify_credentials" for r in retries())
    assert DEV_TOKEN not in ingester.output()
