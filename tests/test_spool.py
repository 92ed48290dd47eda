"""The batcher's spool: memory first, then disk, strict FIFO, bounded, and replayed after a crash."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingester.events import Account, DeleteEvent, InteractionEvent, InteractionKind, Source, StatusEvent, Relation
from ingester.sink import CursorMark
from ingester.spool import Spool, decode, encode

T = datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)
ACC = Account(key="k" * 64, acct="anna@example.social", url="https://example.social/@anna")


def fav(i: int) -> InteractionEvent:
    return InteractionEvent(
        channel="main", notification_id=str(i), occurred_at=T, kind=InteractionKind.FAVOURITE,
        status_id="100", account=ACC, source=Source.STREAM,
    )


def test_every_kind_of_item_survives_the_trip_through_a_spool_line() -> None:
    items = [
        fav(1),
        StatusEvent(channel="main", status_id="5", created_at=T, relation=Relation.REPLY, account=ACC,
                    in_reply_to_id="4", tags=("qena",), content="<p>Waarom?</p>", source=Source.REST),
        DeleteEvent(channel="main", status_id="5", observed_at=T, source=Source.STREAM),
        CursorMark("main", "notifications", "42"),
    ]
    assert [decode(encode(i)) for i in items] == items


async def test_items_beyond_memory_go_to_disk_and_come_back_in_order(tmp_path: Path) -> None:
    spool = Spool(3, path=tmp_path / "spool.jsonl")
    for i in range(10):
        await spool.put((fav(i), 0.0))
    assert spool.disk_items() == 7
    out = [spool.get_nowait()[0].notification_id for _ in range(10)]
    assert out == [str(i) for i in range(10)]
    assert spool.qsize() == 0
    assert (tmp_path / "spool.jsonl").stat().st_size == 0  # drained file is emptied


async def test_once_spilling_newer_items_queue_behind_the_disk(tmp_path: Path) -> None:
    spool = Spool(2, path=tmp_path / "s.jsonl")
    for i in range(4):
        await spool.put((fav(i), 0.0))
    spool.get_nowait()
    spool.get_nowait()  # memory is empty now, but two items wait on disk
    await spool.put((fav(4), 0.0))
    assert [spool.get_nowait()[0].notification_id for _ in range(3)] == ["2", "3", "4"]


async def test_a_full_spool_makes_producers_wait_until_the_consumer_frees_room(tmp_path: Path) -> None:
    spool = Spool(2, path=tmp_path / "s.jsonl", disk_bytes=1)  # one line fills the disk budget
    for i in range(3):
        await spool.put((fav(i), 0.0))
    assert spool.saturated()
    blocked = asyncio.create_task(spool.put((fav(3), 0.0)))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    spool.get_nowait()
    await asyncio.wait_for(blocked, 1)
    assert [spool.get_nowait()[0].notification_id for _ in range(3)] == ["1", "2", "3"]


async def test_without_a_disk_path_the_spool_is_a_bounded_memory_queue() -> None:
    spool = Spool(2)
    await spool.put((fav(0), 0.0))
    await spool.put((fav(1), 0.0))
    assert spool.saturated()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(spool.put((fav(2), 0.0)), 0.05)


async def test_a_restart_replays_what_the_previous_run_left_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    first = Spool(1, path=path)
    for i in range(4):
        await first.put((fav(i), 0.0))
    # the process dies here (kill -9): memory item 0 is lost, items 1..3 are on disk
    with path.open("ab") as f:
        f.write(b'{"event":{"type":"interac')  # a torn last line
    second = Spool(10, path=path)
    assert second.replayed == 3
    assert [second.get_nowait()[0].notification_id for _ in range(3)] == ["1", "2", "3"]


async def test_get_waits_for_the_next_item() -> None:
    spool = Spool(5)
    getter = asyncio.create_task(spool.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    await spool.put((fav(7), 1.5))
    item, t = await asyncio.wait_for(getter, 1)
    assert (item.notification_id, t) == ("7", 1.5)


async def test_persist_keeps_memory_items_ahead_of_the_disk_for_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    spool = Spool(2, path=path)
    for i in range(5):
        await spool.put((fav(i), 0.0))
    spool.get_nowait()  # item 0 is in a batch that never committed; REST catch-up recovers it
    assert spool.persist() == 4
    again = Spool(10, path=path)
    assert [again.get_nowait()[0].notification_id for _ in range(4)] == ["1", "2", "3", "4"]
