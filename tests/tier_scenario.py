"""One realistic stretch of two channels' life, as normalised events, for the cross-tier tests.

Written through the real `Sink` (and `store` for channels and heartbeats) so that every tier gets
its rows the way production does: thread roots resolved by the sink, deletes as tombstones, edits
replacing tags (and with them the post's format), counter snapshots netting out a withdrawn like.
No tests here: tests/test_timescale_tier.py imports `batches` and `write`.

Times are UTC; comments give Europe/Amsterdam local time where a day boundary matters.
Local 2026-03-29 has 23 hours (CET -> CEST at 01:00 UTC), local 2026-10-25 has 25 (CEST -> CET at
01:00 UTC, the local hour 02:00-03:00 happens twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from ingester import store
from ingester.events import (
    Account,
    AccountGoneEvent,
    CountsSnapshot,
    DeleteEvent,
    EditEvent,
    InteractionEvent,
    InteractionKind,
    Relation,
    Source,
    StatusEvent,
)
from ingester.sink import AnyEvent, CursorMark, Sink

CITY = {"ams": "city-ams", "zuid": "city-zuid"}  # account keys of the channels themselves
CITY_ID = {"ams": "900001", "zuid": "900002"}  # their Mastodon account ids


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def resident(n: int) -> Account:
    return Account(key=f"res-{n:02d}", acct=f"bewoner{n}@social.example", url=f"https://social.example/@bewoner{n}")


class Builder:
    """Ids come from one counter so that they grow with insertion order, like snowflakes."""

    def __init__(self) -> None:
        self.next_id = 110_000_000_000_000_000

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def post(self, ch: str, at: datetime, *tags: str, reply_to: StatusEvent | None = None) -> StatusEvent:
        sid = self._id()
        acc = Account(key=CITY[ch], acct=f"{ch}@stad.example", url=f"https://stad.example/@{ch}")
        return StatusEvent(
            channel=ch, status_id=sid, created_at=at, relation=Relation.OWN_POST, account=acc,
            in_reply_to_id=reply_to.status_id if reply_to else None,
            in_reply_to_account_id=f"acct-{reply_to.account.key}" if reply_to else None,
            url=f"https://stad.example/@{ch}/{sid}", tags=tags, content=f"<p>{ch} {' '.join(tags)}</p>",
            language="nl", visibility="public", source=Source.REST,
        )

    def reply(self, parent: StatusEvent, at: datetime, who: int, relation: Relation = Relation.OTHER,
              *, mentions: bool = False) -> StatusEvent:
        sid = self._id()
        to_city = parent.relation is Relation.OWN_POST
        return StatusEvent(
            channel=parent.channel, status_id=sid, created_at=at, relation=relation, account=resident(who),
            in_reply_to_id=parent.status_id,
            in_reply_to_account_id=CITY_ID[parent.channel] if to_city else f"acct-{parent.account.key}",
            mentions_channel=mentions, url=f"https://social.example/@bewoner{who}/{sid}",
            content=f"<p>antwoord van {who}</p>", language="nl", visibility="public",
            source=Source.CONTEXT if relation is Relation.OTHER else Source.STREAM,
        )

    def mention(self, ch: str, at: datetime, who: int) -> StatusEvent:
        sid = self._id()
        return StatusEvent(
            channel=ch, status_id=sid, created_at=at, relation=Relation.MENTION, account=resident(who),
            mentions_channel=True, content=f"<p>@{ch} hallo</p>", source=Source.STREAM,
        )

    def quote(self, post: StatusEvent, at: datetime, who: int) -> StatusEvent:
        sid = self._id()
        return StatusEvent(
            channel=post.channel, status_id=sid, created_at=at, relation=Relation.QUOTE, account=resident(who),
            quoted_id=post.status_id, content="<p>kijk dit</p>", source=Source.STREAM,
        )

    def like(self, st: StatusEvent | None, at: datetime, who: int, kind: InteractionKind = InteractionKind.FAVOURITE,
             ch: str | None = None) -> InteractionEvent:
        return InteractionEvent(
            channel=st.channel if st else (ch or "ams"), notification_id=self._id(), occurred_at=at, kind=kind,
            status_id=st.status_id if st else None, account=resident(who), source=Source.STREAM,
        )

    def follow(self, ch: str, at: datetime, who: int) -> InteractionEvent:
        return self.like(None, at, who, InteractionKind.FOLLOW, ch=ch)


def edited(st: StatusEvent, at: datetime, *, tags: Sequence[str] | None = None) -> EditEvent:
    return EditEvent(status=st.model_copy(update={
        "edited_at": at, "content": f"{st.content} (bewerkt)", "tags": tuple(tags) if tags is not None else st.tags,
    }))


def deleted(st: StatusEvent, at: datetime) -> DeleteEvent:
    return DeleteEvent(channel=st.channel, status_id=st.status_id, observed_at=at, source=Source.STREAM)


def batches(now: datetime) -> list[list[AnyEvent]]:
    """The events, cut into the batches the sink receives (children sometimes before parents)."""
    b = Builder()
    fav, boost = InteractionKind.FAVOURITE, InteractionKind.REBLOG
    # -- spring: the 23-hour day -----------------------------------------------------------------
    spot = b.post("ams", t(3, 28, 22, 30), "innovatorspotlight")  # 23:30 CET, local 28th
    s1 = b.reply(spot, t(3, 29, 0, 30), 1, Relation.REPLY)  # 01:30 CET, local 29th
    s2 = b.reply(s1, t(3, 29, 1, 30), 2)  # 03:30 CEST: the skipped hour lies between them
    s3 = b.reply(s2, t(3, 29, 21, 59), 3, Relation.MENTION, mentions=True)  # 23:59 CEST, still the 29th
    s_ans = b.post("ams", t(3, 29, 22, 30), reply_to=s1)  # 00:30 local 30th: answered in 22 h
    spring = [s3, s2, spot, s1, s_ans, b.like(spot, t(3, 28, 23, 0), 4), b.like(spot, t(3, 29, 0, 59), 5),
              b.like(s_ans, t(3, 30, 8, 0), 1, boost), b.follow("ams", t(3, 29, 1, 0), 6)]
    # -- autumn: the 25-hour day, two channels ---------------------------------------------------
    qa = b.post("ams", t(10, 24, 20, 0), "qena")  # 22:00 CEST, local 24th
    r1 = b.reply(qa, t(10, 24, 21, 30), 1, Relation.REPLY)  # 23:30 local 24th
    r2 = b.reply(r1, t(10, 24, 22, 30), 2)  # 00:30 CEST local 25th: quiet nested reply
    r3 = b.reply(r2, t(10, 25, 0, 30), 3, Relation.MENTION, mentions=True)  # 02:30 CEST (first time)
    r4 = b.reply(qa, t(10, 25, 1, 30), 1, Relation.REPLY)  # 02:30 CET (second time)
    a1 = b.post("ams", t(10, 25, 7, 0), reply_to=r1)
    r5 = b.reply(a1, t(10, 25, 12, 0), 4, Relation.REPLY)  # replying to the city's answer
    r6 = b.reply(qa, t(10, 25, 13, 0), 5, Relation.REPLY)  # deleted below
    a4 = b.post("ams", t(10, 28, 9, 0), reply_to=r4)  # 79.5 h later: answered, not within 72 h
    gone = b.post("ams", t(10, 25, 18, 0), "qena")  # deleted post with a like
    quote = b.quote(qa, t(10, 25, 15, 0), 9)
    z1 = b.post("zuid", t(10, 25, 9, 0), "vraagvandegemeente")
    z_r1 = b.reply(z1, t(10, 25, 10, 0), 1, Relation.REPLY)  # the same resident in another channel
    z_r2 = b.reply(z_r1, t(10, 25, 23, 30), 7)  # 00:30 CET local 26th
    z_ans = b.post("zuid", t(10, 26, 8, 0), reply_to=z_r1)
    z2 = b.post("zuid", t(11, 10, 9, 0), "innovatorspotlight")
    autumn = [
        qa, r2, r3, r1, b.like(qa, t(10, 24, 20, 5), 6), b.like(qa, t(10, 25, 0, 59), 2),
        b.like(qa, t(10, 25, 1, 10), 3, boost), b.follow("ams", t(10, 25, 1, 45), 8), r4, a1, r5, r6,
        b.like(a1, t(10, 25, 23, 30), 7), quote, gone, b.like(gone, t(10, 25, 18, 30), 4),
        b.mention("ams", t(10, 26, 10, 0), 2), z_r2, z1, z_r1, z_ans, b.like(z1, t(10, 25, 9, 30), 1),
        b.like(z1, t(10, 25, 22, 45), 5, boost), b.follow("zuid", t(10, 25, 2, 15), 1), a4, z2,
        b.reply(z2, t(11, 10, 9, 30), 6, Relation.REPLY), b.like(z2, t(11, 10, 10, 0), 8),
    ]
    later = [
        edited(qa, t(10, 24, 20, 30), tags=("qena", "vraagvandegemeente")),
        edited(r1, t(10, 24, 21, 40)),
        edited(z2, t(11, 10, 9, 15), tags=()),  # the edit takes the format away: now "other"
        deleted(r6, t(10, 25, 14, 0)), deleted(gone, t(10, 25, 19, 0)),
        CountsSnapshot(channel="ams", post_id=qa.status_id, observed_at=t(10, 27, 0, 0),
                       replies=4, favourites=1, reblogs=1, quotes=1),  # one like taken back
        AccountGoneEvent(channel="ams", account_key=resident(9).key, observed_at=t(10, 30, 0, 0), source=Source.REST),
    ]
    # -- recent: replies still inside their 72 hours, one answered and one waiting ---------------
    base = now.replace(second=0, microsecond=0)
    p_old = b.post("ams", base - timedelta(days=6), "ama")
    o1 = b.reply(p_old, base - timedelta(days=6) + timedelta(minutes=20), 2, Relation.REPLY)
    p_new = b.post("ams", base - timedelta(hours=30), "qena")
    n1 = b.reply(p_new, base - timedelta(hours=29), 3, Relation.REPLY)
    n2 = b.reply(p_new, base - timedelta(hours=28), 10, Relation.REPLY)
    n3 = b.reply(n1, base - timedelta(hours=27), 11, Relation.OTHER)
    recent = [
        p_old, o1, b.post("ams", base - timedelta(days=6) + timedelta(hours=2), reply_to=o1), p_new, n1, n2, n3,
        b.post("ams", base - timedelta(hours=26), reply_to=n1), b.like(p_new, base - timedelta(hours=2), 12),
        b.like(p_new, base - timedelta(minutes=30), 1, boost), b.follow("zuid", base - timedelta(hours=1), 12),
    ]
    return [spring[:5], spring[5:], autumn[:12], autumn[12:], later, recent]


async def write(url: str, now: datetime, *, pool_size: int) -> dict[str, int]:
    """Write the scenario through the real sink; returns what the sink reported, summed."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size)
    try:
        for ch, city in CITY.items():
            await store.upsert_channel(pool, ch, CITY_ID[ch], city, f"{ch}@stad.example", "https://stad.example")
        sink = Sink(pool)
        total: dict[str, Any] = {}
        for i, batch in enumerate(batches(now)):
            result = await sink.write(batch, [CursorMark("ams", "notifications", str(1000 + i))])
            for k, v in vars(result).items():
                total[k] = total.get(k, 0) + v
        for ch in CITY:
            for h in range(3):
                await store.write_heartbeat(pool, {"channel": ch, "at": now - timedelta(minutes=h), "stream_connected": True,
                                                   "events_total": 10 * h, "spool_depth": 0})
        return total
    finally:
        await pool.close()
