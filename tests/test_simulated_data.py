"""Simulated data never mixes with real data: `--simulate` plays the simulator only when no Mastodon
server is configured at all, the database records that it received simulated data (and the health
board says so), and a real run against it refuses unless told explicitly."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from e2e import Ingester, cli, ingester_env, reap, wait_for
from ingester.cli import EXIT_FAILURE, EXIT_OK
from ingester.grafana.boards_live import health
from ingester.grafana.macros import TimeRange, expand
from ingester.simulator import Simulator


def origins(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT origin FROM pulse.data_origin")}


def statuses(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pulse.statuses").fetchone()[0]  # type: ignore[index]


def mark(url: str, origin: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO pulse.data_origin (origin) VALUES (%s)", (origin,))


def banner(url: str) -> float:
    """The health board's "Data source" stat, as Grafana runs it."""
    [panel] = [p for p in health("nl").panels if p.key == "origin"]
    now = datetime.now(UTC)
    sql = expand(panel.query.sql, TimeRange(now - timedelta(hours=6), now)).sql
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode()).fetchone()[0]  # type: ignore[index]


def no_server_env(database_url: str, salt: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, PULSE_ACCOUNT_SALT=salt, PULSE_METRICS_PORT="0",
               PULSE_LOG_FORMAT="json", PULSE_SIMULATOR_RATE="50", PULSE_BATCH_MAX_AGE_MS="50")
    return env


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Callable[[dict[str, str]], Ingester]]:
    started: list[Ingester] = []

    def make(env: dict[str, str]) -> Ingester:
        ingester = Ingester(env, tmp_path / f"ingester-{len(started)}.log")
        started.append(ingester)
        return ingester

    yield make
    for ingester in started:
        await reap(ingester)


async def test_simulate_without_any_server_plays_the_simulator_and_the_database_and_board_say_so(
    database_url: str, salt: str, spawn: Callable[[dict[str, str]], Ingester]
) -> None:
    assert banner(database_url) == 0  # no data yet
    ingester = spawn(no_server_env(database_url, salt))
    await ingester.start("--simulate")
    assert await wait_for(lambda: statuses(database_url) > 0, 60), ingester.output()[-2000:]
    assert await ingester.stop() == EXIT_OK
    assert origins(database_url) == {"simulated"}
    assert banner(database_url) == 2  # "SIMULATED DATA — ... not a real channel"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT simulated, origin FROM kpi.data_origin").fetchone() == (True, "simulated")


async def test_a_real_run_refuses_a_database_that_received_simulated_data(database_url: str, salt: str) -> None:
    mark(database_url, "simulated")
    async with Simulator() as sim:
        code, out, err = await cli(ingester_env(database_url, sim, salt), "run")
    assert code == EXIT_FAILURE and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "this database has received simulated data" in lines[0], err
    assert "PULSE_ACCEPT_SIMULATED_DATA=true" in lines[0]
    assert statuses(database_url) == 0 and origins(database_url) == {"simulated"}


async def test_told_explicitly_a_real_run_writes_and_the_board_still_warns(
    database_url: str, salt: str, spawn: Callable[[dict[str, str]], Ingester]
) -> None:
    mark(database_url, "simulated")
    async with Simulator() as sim:
        sim.world.post(sim.channel_ids["main"], "hallo Amsterdam")
        ingester = spawn(ingester_env(database_url, sim, salt))
        await ingester.start("--accept-simulated-data")
        assert await wait_for(lambda: statuses(database_url) > 0, 60), ingester.output()[-2000:]
        assert await ingester.stop() == EXIT_OK
    assert origins(database_url) == {"simulated", "real"}
    assert banner(database_url) == 2


async def test_simulate_with_a_configured_server_runs_the_real_channel(
    database_url: str, salt: str, spawn: Callable[[dict[str, str]], Ingester]
) -> None:
    async with Simulator() as sim:  # here the simulator stands in for a real, configured server
        sim.world.post(sim.channel_ids["main"], "hallo Amsterdam")
        ingester = spawn(ingester_env(database_url, sim, salt))
        await ingester.start("--simulate")
        assert await wait_for(lambda: statuses(database_url) > 0, 60), ingester.output()[-2000:]
        assert await ingester.stop() == EXIT_OK
    assert origins(database_url) == {"real"} and banner(database_url) == 1


async def test_the_simulator_never_writes_into_a_real_channels_database(database_url: str, salt: str) -> None:
    mark(database_url, "real")
    code, _, err = await cli(no_server_env(database_url, salt), "run", "--simulate")
    assert code == EXIT_FAILURE and "holds a real channel's data" in err
    assert statuses(database_url) == 0 and origins(database_url) == {"real"}
