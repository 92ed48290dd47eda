"""KPIs from a live session: simulator -> service -> kpi views equal the simulator's truth per post.

The scenario has what makes KPIs hard: replies deep in threads that never mention the city (found only by
thread polling), the city's own answers, favourites and boosts taken back (no event at all; found by counter
snapshots), deletes, edits, two channels and several formats.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from pydantic import SecretStr

from e2e import converge, expected
from ingester.formats import format_of
from ingester.runner import Service
from ingester.service import ServiceConfig
from ingester.settings import ChannelSettings
from ingester.simulator import ChannelSpec, RateLimits, Scenario, SimConfig, Simulator
from ingester.simulator.config import DEV_TOKEN

pytestmark = pytest.mark.slow

CHANNELS = (
    ChannelSpec(),
    ChannelSpec(name="zuid", username="gemeenteamsterdamzuid", display_name="Stadsdeel Zuid", token=DEV_TOKEN + "-zuid"),
)


@pytest.mark.timeout(200)
async def test_every_post_kpi_equals_the_truth_on_a_session_with_quiet_replies_and_withdrawals(
    database_url: str, salt: str
) -> None:
    sim_cfg = SimConfig(
        channels=CHANNELS, rate_limits=RateLimits(api_limit=1_000_000, paging_limit=1_000_000), ping_interval=2.0, seed=5
    )
    async with Simulator(sim_cfg) as sim:
        cfg = ServiceConfig(
            dsn=database_url,
            channels=tuple(
                ChannelSettings(name=c.name, base_url=sim.base_url, access_token=SecretStr(sim.token(c.name)))
                for c in CHANNELS
            ),
            salt=SecretStr(salt),
            reconcile_seconds=1.0,
            idle_timeout=6.0,
            batch_max_age=0.05,
            metrics_port=None,
        )
        stop = asyncio.Event()
        service = asyncio.create_task(Service(cfg).run(stop))
        await asyncio.sleep(1.5)
        scenario = Scenario(events=1000, rate=400, seed=5, quiet_reply_share=0.3, withdraw_share=0.08)
        sim.faults.drop_every(2.0)
        truth = await sim.play(scenario)
        sim.faults.drop_every(None)
        sim.faults.drop_all()  # a last gap: young threads and counters are re-read after it

        # Withdrawn favourites/boosts stay in the event log (they happened); the counters below net them out.
        for channel in ("main", "zuid"):
            exact = ("reply", "mention", "quote", "follow")
            got = await converge(database_url, truth, timeout=60, channel=channel, kinds=exact)
            want = expected(truth, channel)
            for kind in exact:
                assert got[kind] == want[kind], (channel, kind, got, want)
        await asyncio.sleep(2.5)  # one more reconcile after the last poll: snapshots newer than any event
        stop.set()
        await asyncio.wait_for(service, 30)

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT channel, post_id, format, replies, repliers, favourites, reblogs, quotes, city_replies "
            "FROM kpi.post_stats"
        )
    finally:
        await conn.close()
    stats = {(r["channel"], r["post_id"]): r for r in rows}
    checked = 0
    quiet_threads = 0
    formats: set[str] = set()
    for channel, ct in truth.channels.items():
        for post in ct.posts:
            if not post.top_level:
                continue
            row = stats[(channel, post.post_id)]
            assert (row["replies"], row["repliers"], row["city_replies"]) == (
                post.replies, len(post.repliers), post.city_replies,
            ), (channel, post)
            assert (row["favourites"], row["reblogs"], row["quotes"]) == (post.favourites, post.reblogs, post.quotes), (
                channel, post,
            )
            assert row["format"] == format_of(post.tags)
            formats.add(row["format"])
            checked += 1
            quiet_threads += post.replies > post.replies_count
    assert checked >= 6
    assert {"qa", "city_question", "innovator_spotlight"} <= formats
    assert quiet_threads >= 1  # some threads had replies only thread polling could find
