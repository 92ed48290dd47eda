"""A simulated month of one channel (October 2026, the 25-hour day included), written through the real
`Sink`, for the report tests. Deterministic: one seed, ids from one counter. No tests here.

Every day the city posts zero to two posts in one of the formats; residents (a pool of 40, so many
return) reply, reply to each other, like; the city answers most replies within minutes to two days.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg

from ingester import store
from ingester.events import Relation
from ingester.sink import AnyEvent, Sink
from tier_scenario import CITY, CITY_ID, Builder

START = datetime(2026, 10, 1, tzinfo=UTC)
FORMATS = (("qena",), ("innovatorspotlight",), ("vraagvandegemeente",), ())


def month(seed: int = 7) -> list[AnyEvent]:
    rng, b = random.Random(seed), Builder()
    events: list[AnyEvent] = []
    for d in range(31):
        for _ in range(rng.choice((0, 1, 1, 2))):
            at = START + timedelta(days=d, hours=rng.randint(6, 16), minutes=rng.randint(0, 59))
            post = b.post("ams", at, *rng.choice(FORMATS))
            events.append(post)
            for who in rng.sample(range(1, 41), rng.randint(0, 9)):
                replied = at + timedelta(minutes=rng.randint(5, 900))
                reply = b.reply(post, replied, who, Relation.REPLY)
                events.append(reply)
                if rng.random() < 0.75:
                    events.append(b.post("ams", replied + timedelta(minutes=rng.randint(4, 2900)), reply_to=reply))
                if rng.random() < 0.3:
                    events.append(b.reply(reply, replied + timedelta(minutes=rng.randint(1, 240)), rng.randint(1, 40)))
            for who in rng.sample(range(1, 61), rng.randint(0, 14)):
                events.append(b.like(post, at + timedelta(minutes=rng.randint(1, 1800)), who))
        if rng.random() < 0.4:
            events.append(b.follow("ams", START + timedelta(days=d, hours=12), rng.randint(41, 80)))
    return events


async def write_month(url: str, seed: int = 7) -> int:
    """Write the month through the sink in batches of 500; returns the number of events."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        await store.upsert_channel(pool, "ams", CITY_ID["ams"], CITY["ams"], "ams@stad.example", "https://stad.example")
        sink, events = Sink(pool), month(seed)
        for i in range(0, len(events), 500):
            await sink.write(events[i:i + 500])
        return len(events)
    finally:
        await pool.close()
