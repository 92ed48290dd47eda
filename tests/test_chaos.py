"""Chaos: 30,000 events at a high rate through random socket drops, three database outages and two kill -9s.

The simulator plays a long, fast session; a seeded schedule drops the streaming sockets at jittered
intervals, cuts the line to PostgreSQL three times (a `TcpProxy` between the ingester and the server:
reset connections twice, a silent pulled-cable hang once) and kills the ingester with SIGKILL twice (once
while the database is unreachable, so the new process must wait for it). Afterwards the counts per kind
in `kpi.engagements` equal the simulator's ground truth, no Mastodon id is stored twice, and a final
SIGTERM ends the process cleanly. The assertions compare with the ground truth only; the schedule is
fixed by SEED so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Literal

import pytest

from e2e import (
    Ingester,
    converge,
    db_address,
    duplicates,
    expected,
    ingester_env,
    log_records,
    reap,
    wait_for,
    with_port,
)
from ingester.simulator import RateLimits, Scenario, SimConfig, Simulator
from tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

SEED = 1729
EVENTS = 30_000
RATE = 750.0  # actions per second: a city-wide storm, far above a real channel's rate
GENEROUS = RateLimits(api_limit=1_000_000, paging_limit=1_000_000)


class Chaos:
    """The seeded fault schedule, acted out against one simulator, one proxy and one ingester."""

    def __init__(self, sim: Simulator, proxy: TcpProxy, ingester: Ingester, seed: int) -> None:
        self.sim, self.proxy, self.ingester = sim, proxy, ingester
        self.rng = random.Random(seed)
        self.outages: list[tuple[str, float]] = []
        self.kills = 0

    async def drop_sockets(self, stop: asyncio.Event) -> None:
        """Drop every streaming socket at random intervals until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(0.2, 1.2))
            except asyncio.TimeoutError:
                self.sim.faults.drop_all()

    async def at(self, share: float) -> None:
        """Wait until this share of the scenario has been applied."""
        target = int(EVENTS * share)
        assert await wait_for(lambda: self.sim.progress()["applied"] >= target, 120, every=0.1)

    async def outage(self, mode: Literal["close", "hang"]) -> None:
        seconds = self.rng.uniform(2.0, 5.0)
        self.proxy.cut(mode)
        self.outages.append((mode, seconds))
        await asyncio.sleep(seconds)
        self.proxy.restore()

    async def kill_and_restart(self, pause: float | None = None) -> None:
        await self.ingester.kill9()
        self.kills += 1
        await asyncio.sleep(self.rng.uniform(0.3, 1.5) if pause is None else pause)
        await self.ingester.start()


@pytest.mark.timeout(300)
async def test_thirty_thousand_events_through_drops_outages_and_kills_equal_the_ground_truth(
    database_url: str, salt: str, tmp_path: Path
) -> None:
    config = SimConfig(rate_limits=GENEROUS, ping_interval=2.0, seed=SEED)
    async with Simulator(config) as sim, TcpProxy(*db_address(database_url)) as proxy:
        ingester = Ingester(ingester_env(with_port(database_url, proxy.port), sim, salt), tmp_path / "ingester.log")
        try:
            await _storm(Chaos(sim, proxy, ingester, SEED), database_url)
        finally:
            await reap(ingester)  # never leave a process behind when an assertion fails


async def _storm(chaos: Chaos, database_url: str) -> None:
    """The run itself; `database_url` is the direct line (test helpers never go through the proxy)."""
    sim, proxy, ingester = chaos.sim, chaos.proxy, chaos.ingester
    await ingester.start()
    assert await wait_for(lambda: sim.progress()["open_sockets"] >= 1, 60), ingester.output()

    play = sim.start_scenario(Scenario(events=EVENTS, rate=RATE, seed=SEED))
    stop_drops = asyncio.Event()
    drops = asyncio.create_task(chaos.drop_sockets(stop_drops))

    await chaos.at(0.10)
    await chaos.outage("close")  # the server restarts: every connection reset
    await chaos.at(0.25)
    await chaos.kill_and_restart()
    await chaos.at(0.40)
    await chaos.outage("hang")  # a pulled cable: silence, then resets
    await chaos.at(0.60)
    down = asyncio.create_task(chaos.outage("close"))
    await asyncio.sleep(0.5)
    await chaos.kill_and_restart(pause=0.2)  # the new process starts while the database is away
    await down

    truth = await play
    stop_drops.set()
    await drops
    sim.faults.drop_all()  # one last gap after the storm, as a network blip would make

    got = await converge(database_url, truth, timeout=150)
    assert got == expected(truth), ingester.output()[-4000:]
    assert set((await duplicates(database_url)).values()) == {0}

    rc = await ingester.stop(timeout=60)
    out = ingester.output()
    assert rc == 0, out[-3000:]
    # Only the last process was stopped; the two killed ones never got to say anything.
    assert len([line for line in out.splitlines() if line.startswith("ingester: stopped cleanly")]) == 1

    # The faults really happened and were met: not a quiet run that passes by luck.
    faults = sim.faults.snapshot()
    assert sum(got.values()) >= EVENTS // 2
    assert faults.get("sockets_dropped", 0) >= 20
    assert chaos.kills == 2 and proxy.stats.cuts == 3
    records = log_records(out)
    events = [r.get("event") for r in records]
    assert events.count("batch write failed, retrying") >= 3, "the outages did not reach a batch write"
    # Expected faults are warnings, not crashes: no traceback anywhere (the pool keeps no idle floor, so
    # asyncpg has nothing to "restore" noisily during an outage either).
    assert [r for r in records if "exception" in r] == []
    assert [line for line in out.splitlines() if "Traceback" in line] == []
