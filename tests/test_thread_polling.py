"""Thread polling finds what no notification announces: a reply three levels deep that does not mention the
city is counted within 3 minutes while its post is young. Real simulator, real database, injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest
from pydantic import SecretStr

from ingester import store
from ingester.batcher import Batcher
from ingester.events import CountsSnapshot, EditEvent, StatusEvent
from ingester.identity import account_key
from ingester.normalize import ChannelContext
from ingester.sink import Sink
from ingester.simulator import RateLimits, SimConfig, Simulator
from ingester.sources.catchup import CatchUp
from ingester.sources.rest import MastodonRest


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimConfig(rate_limits=RateLimits(api_limit=100_000, paging_limit=100_000))) as s:
        yield s


@pytest.fixture
async def sink(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Batcher]]:
    """A real pool and a running batcher in front of the real sink, closed after the test."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    batcher = Batcher(Sink(pool), max_age=0.02)
    runner = asyncio.create_task(batcher.run())
    try:
        yield pool, batcher
    finally:
        await batcher.close()
        runner.cancel()
        await pool.close()


async def _kind_of(pool: asyncpg.Pool, status_id: str) -> str | None:
    return await pool.fetchval("SELECT kind FROM kpi.engagements WHERE source_id = $1", status_id)


async def test_a_quiet_reply_three_levels_deep_is_counted_at_the_next_poll_two_minutes_later(
    sim: Simulator, sink: tuple[asyncpg.Pool, Batcher], salt: str
) -> None:
    pool, batcher = sink
    city = sim.channel_account()
    anna, bram, cem = (r.id for r in sim.residents[:3])
    w = sim.world
    post = w.post(city.id, "Wat vindt u van het nieuwe plein?", tags=("vraagvandegemeente",))
    level1 = w.post(anna, "Mooi, maar te weinig bomen", in_reply_to=post.id, mentions=(city.id,))

    rest = MastodonRest(sim.base_url, SecretStr(sim.token()))
    ctx = ChannelContext(channel="main", account_id=city.id, salt=salt)
    await store.upsert_channel(pool, "main", city.id, account_key("city", salt), city.acct, sim.base_url)
    t0 = datetime.now(timezone.utc)
    clock = [t0]
    catchup = CatchUp(rest, ctx, pool, batcher.put, {}, clock=lambda: clock[0])

    await catchup.run()  # stores the post (own statuses) and the mention-backed level-1 reply
    await batcher.flush()
    await catchup.run()  # the post is young and known now: its thread is read at t0
    await batcher.flush()
    assert await _kind_of(pool, level1.id) == "reply"

    level2 = w.post(bram, "Bomen geven schaduw", in_reply_to=level1.id, mentions=(anna,))
    level3 = w.post(cem, "En koelte in de zomer", in_reply_to=level2.id, mentions=(bram,))
    assert city.id not in level2.mention_ids + level3.mention_ids  # nothing notifies the city

    clock[0] = t0 + timedelta(minutes=1)
    await catchup.run()
    await batcher.flush()
    assert await _kind_of(pool, level3.id) is None  # not due yet: polled a minute ago

    clock[0] = t0 + timedelta(minutes=2)
    await catchup.run()
    await batcher.flush()
    assert await _kind_of(pool, level3.id) == "reply"
    assert await _kind_of(pool, level2.id) == "reply"
    root = await pool.fetchval("SELECT thread_root_id FROM kpi.engagements WHERE source_id = $1", level3.id)
    assert root == post.id


async def test_a_repoll_sends_only_new_and_newly_edited_statuses_not_the_whole_thread_again(
    sim: Simulator, sink: tuple[asyncpg.Pool, Batcher], salt: str
) -> None:
    pool, batcher = sink
    sent: list[object] = []

    async def put(item: object) -> None:  # what catch-up hands the sink, in order
        sent.append(item)
        await batcher.put(item)  # type: ignore[arg-type]

    city = sim.channel_account()
    anna, bram = (r.id for r in sim.residents[:2])
    w = sim.world
    post = w.post(city.id, "Hoe komt u naar het stadhuis?")
    a = w.post(anna, "Met de fiets", in_reply_to=post.id, mentions=(city.id,))
    b = w.post(bram, "Met de tram", in_reply_to=a.id, mentions=(anna,))
    w.edit(b.id, "Met tram 26")
    rest = MastodonRest(sim.base_url, SecretStr(sim.token()))
    ctx = ChannelContext(channel="main", account_id=city.id, salt=salt)
    await store.upsert_channel(pool, "main", city.id, account_key("city", salt), city.acct, sim.base_url)
    t0 = datetime.now(timezone.utc)
    clock = [t0]
    catchup = CatchUp(rest, ctx, pool, put, {}, clock=lambda: clock[0])
    await catchup.run()
    await batcher.flush()
    await catchup.run()  # first thread poll: stores b and its edit
    await batcher.flush()
    assert "Met tram 26" in await pool.fetchval("SELECT content FROM pulse.statuses WHERE status_id = $1", b.id)

    def statuses_sent() -> list[tuple[str, str]]:
        return [(type(i).__name__, i.status.status_id if isinstance(i, EditEvent) else i.status_id)
                for i in sent if isinstance(i, (StatusEvent, EditEvent))]

    sent.clear()
    clock[0] = t0 + timedelta(minutes=2)
    await catchup.run()  # nothing changed in the thread
    await batcher.flush()
    assert statuses_sent() == []
    assert catchup.stats.unchanged >= 2  # a and b were read again but not re-sent
    assert any(isinstance(i, CountsSnapshot) for i in sent)  # counters are still recorded

    sent.clear()
    w.edit(a.id, "Met de fiets, en u?")
    c = w.post(anna, "Of lopend", in_reply_to=b.id, mentions=(bram,))
    clock[0] = t0 + timedelta(minutes=4)
    await catchup.run()
    await batcher.flush()
    assert sorted(statuses_sent()) == sorted([("StatusEvent", a.id), ("EditEvent", a.id), ("StatusEvent", c.id)])
    assert "Met de fiets, en u?" in await pool.fetchval("SELECT content FROM pulse.statuses WHERE status_id = $1", a.id)
    assert await _kind_of(pool, c.id) == "reply"


async def test_over_sixty_days_the_schedule_holds_only_the_posts_of_the_last_thirty_days(
    sim: Simulator, sink: tuple[asyncpg.Pool, Batcher], salt: str
) -> None:
    # The channel posts every sixth day for 60 days and catch-up runs after each post: the schedule must
    # hold exactly the posts younger than 30 days, never more, however old the channel gets.
    pool, batcher = sink
    city = sim.channel_account()
    w = sim.world
    rest = MastodonRest(sim.base_url, SecretStr(sim.token()))
    ctx = ChannelContext(channel="main", account_id=city.id, salt=salt)
    await store.upsert_channel(pool, "main", city.id, account_key("city", salt), city.acct, sim.base_url)
    t0 = (datetime.now(timezone.utc) - timedelta(days=61)).replace(microsecond=0)  # Mastodon keeps milliseconds
    clock = [t0]
    catchup = CatchUp(rest, ctx, pool, batcher.put, {}, clock=lambda: clock[0])
    posted: dict[str, datetime] = {}
    for day in range(0, 61, 6):
        at = t0 + timedelta(days=day)
        post = w.post(city.id, f"Dag {day}: wat vindt u ervan?", at=at)
        posted[post.id] = at
        clock[0] = at + timedelta(hours=1)
        await catchup.run()  # stores the new post
        await batcher.flush()
        await catchup.run()  # and tracks and polls it
        await batcher.flush()
        young = {p for p, when in posted.items() if clock[0] - when < timedelta(days=30)}
        assert set(catchup.schedule.posts) == young
    assert len(catchup.schedule.posts) == 5  # days 36..60: the 30-day window, while 11 posts exist
    assert catchup.schedule.oldest() == t0 + timedelta(days=36)
