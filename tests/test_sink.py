"""The sink: one batch = one transaction, idempotent on Mastodon ids, independent of arrival order.

Events are built from the real payloads in shared/mastodon (ids, times, handles, text); the
database is the real PostgreSQL from the fixtures.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from ingester.events import (
    Account,
    AccountGoneEvent,
    CountsSnapshot,
    DeadLetter,
    DeleteEvent,
    EditEvent,
    InteractionEvent,
    InteractionKind,
    Relation,
    Source,
    StatusEvent,
)
from ingester.sink import CursorMark, Sink

CH = "main"

# The fields the sink reads from three recorded frames (../shared/mastodon/streaming/websocket/events:
# update, status.update and notification, payloads decoded), held here so the suite needs no corpus.
_POST_ACCOUNT = {"uri": "http://localhost:3000/ap/users/117020617404561855", "acct": "mastodonpy_test",
                 "url": "http://localhost:3000/@mastodonpy_test"}
_RESIDENT = {"uri": "http://localhost:3000/ap/users/117020617532860042", "acct": "mastodonpy_test_2",
             "url": "http://localhost:3000/@mastodonpy_test_2"}
_UPDATE = {
    "id": "117024236332527350", "created_at": "2026-08-02T05:22:17.399Z", "in_reply_to_id": None,
    "in_reply_to_account_id": None, "url": "http://localhost:3000/@mastodonpy_test/117024236332527350",
    "tags": [], "content": "<p>only real cars respond.</p>", "language": "ja", "visibility": "public",
    "edited_at": None, "account": _POST_ACCOUNT,
}
_PAYLOADS: dict[str, dict[str, Any]] = {
    "update.payload-decoded.json": _UPDATE,
    "status.update.payload-decoded.json": {
        **_UPDATE, "content": "<p>only real animals respond.</p>", "edited_at": "2026-08-02T05:22:24.192Z"},
    "notification.payload-decoded.json": {
        "created_at": "2026-08-02T05:22:22.523Z", "account": _RESIDENT,
        "status": {
            "id": "117024236635443611", "created_at": "2026-08-02T05:22:22.024Z",
            "in_reply_to_id": "117024236559579118", "in_reply_to_account_id": "117020617404561855",
            "url": "http://localhost:3000/@mastodonpy_test_2/117024236635443611", "tags": [],
            "content": '<p><span class="h-card" translate="no"><a href="http://localhost:3000/@mastodonpy_test" '
                       'class="u-url mention">@<span>mastodonpy_test</span></a></span> pssssst!</p>',
            "language": "ja", "visibility": "direct", "edited_at": None, "account": _RESIDENT,
        },
    },
}


def _payload(name: str) -> dict[str, Any]:
    return _PAYLOADS[name]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def account_of(entity: dict[str, Any]) -> Account:
    # The real key is an HMAC of the URI (ingester.identity); any stable stand-in works for the sink.
    a = entity["account"]
    return Account(key="k:" + a["uri"], acct=a["acct"], url=a["url"])


def status_from(entity: dict[str, Any], relation: Relation, source: Source = Source.STREAM, **kw: Any) -> StatusEvent:
    fields: dict[str, Any] = dict(
        channel=CH,
        status_id=entity["id"],
        created_at=_ts(entity["created_at"]),
        relation=relation,
        account=account_of(entity),
        in_reply_to_id=entity["in_reply_to_id"],
        in_reply_to_account_id=entity["in_reply_to_account_id"],
        url=entity["url"],
        tags=tuple(t["name"].lower() for t in entity.get("tags", [])),
        content=entity["content"],
        language=entity["language"],
        visibility=entity["visibility"],
        edited_at=_ts(entity["edited_at"]) if entity.get("edited_at") else None,
        source=source,
    )
    fields.update(kw)
    return StatusEvent(**fields)


# Golden inputs: the channel's post (`update` frame), its edit (`status.update`), and a resident's
# mention of the channel (`notification` frame, double-encoded payload decoded by the fixture files).
POST = status_from(_payload("update.payload-decoded.json"), Relation.OWN_POST)
POST_EDITED = status_from(_payload("status.update.payload-decoded.json"), Relation.OWN_POST)
_NOTE = _payload("notification.payload-decoded.json")
MENTION = status_from(_NOTE["status"], Relation.MENTION, mentions_channel=True)


def reply(status_id: str, parent: StatusEvent, minutes: int, relation: Relation = Relation.OTHER) -> StatusEvent:
    """A resident's status answering `parent`, `minutes` after the post."""
    return MENTION.model_copy(
        update=dict(
            status_id=status_id,
            in_reply_to_id=parent.status_id,
            created_at=POST.created_at + timedelta(minutes=minutes),
            relation=relation,
            mentions_channel=False,
        )
    )


def favourite(notification_id: str, status_id: str, source: Source = Source.STREAM) -> InteractionEvent:
    return InteractionEvent(
        channel=CH,
        notification_id=notification_id,
        occurred_at=_ts(_NOTE["created_at"]),
        kind=InteractionKind.FAVOURITE,
        status_id=status_id,
        account=account_of(_NOTE),
        source=source,
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        yield p
    finally:
        await p.close()


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the sink writes (minus ingestion timestamps), for exact comparisons."""
    queries = {
        "statuses": "SELECT channel, status_id, relation, thread_root_id, mentions_channel, content, tags,"
        " edited_at, text_purged_at IS NOT NULL FROM pulse.statuses ORDER BY 1, 2",
        "interactions": "SELECT channel, notification_id, kind, status_id FROM pulse.interactions ORDER BY 1, 2",
        "edits": "SELECT channel, status_id, edited_at FROM pulse.edits ORDER BY 1, 2, 3",
        "tombstones": "SELECT channel, status_id FROM pulse.tombstones ORDER BY 1, 2",
        "accounts": "SELECT account_key, acct, purged_at IS NOT NULL FROM pulse.accounts ORDER BY 1",
        "cursors": "SELECT channel, name, value FROM pulse.cursors ORDER BY 1, 2",
        "dead_letters": "SELECT channel, reason, payload FROM pulse.dead_letters ORDER BY 1, 2, 3",
        "snapshots": "SELECT channel, post_id, favourites FROM pulse.post_snapshots ORDER BY 1, 2",
    }
    return {k: [tuple(r) for r in await pool.fetch(q)] for k, q in queries.items()}


async def test_writing_the_same_batch_twice_stores_every_event_once(pool: asyncpg.Pool) -> None:
    batch = [POST, MENTION, favourite("20", POST.status_id), EditEvent(status=POST_EDITED)]
    sink = Sink(pool)
    first = await sink.write(batch)
    after_first = await snapshot(pool)
    second = await sink.write(batch)
    assert (first.statuses, first.interactions, first.edits) == (2, 1, 1)
    assert (second.statuses, second.interactions, second.edits) == (0, 0, 0)
    assert await snapshot(pool) == after_first


async def test_a_status_seen_on_the_stream_and_in_a_rest_page_is_stored_once(pool: asyncpg.Pool) -> None:
    sink = Sink(pool)
    await sink.write([MENTION, favourite("20", POST.status_id)])
    await sink.write(
        [MENTION.model_copy(update={"source": Source.REST}), favourite("20", POST.status_id, Source.REST)]
    )
    rows = await snapshot(pool)
    assert [r[1] for r in rows["statuses"]] == [MENTION.status_id]
    assert [r[1] for r in rows["interactions"]] == ["20"]


async def test_duplicates_inside_one_batch_are_merged_not_rejected(pool: asyncpg.Pool) -> None:
    result = await Sink(pool).write([POST, POST, MENTION, MENTION, favourite("20", POST.status_id)] * 3)
    assert (result.statuses, result.interactions) == (2, 1)
    assert len((await snapshot(pool))["accounts"]) == 2


async def test_a_cursor_never_moves_backwards_and_compares_ids_as_numbers(pool: asyncpg.Pool) -> None:
    sink = Sink(pool)
    await sink.write([], [CursorMark(CH, "notifications", "9")])
    await sink.write([], [CursorMark(CH, "notifications", "10"), CursorMark(CH, "notifications", "8")])
    await sink.write([], [CursorMark(CH, "notifications", "9")])
    assert (await snapshot(pool))["cursors"] == [(CH, "notifications", "10")]


async def test_a_cursor_commits_only_together_with_its_rows(pool: asyncpg.Pool) -> None:
    # A real database failure late in the transaction (after the rows were staged and inserted).
    await pool.execute(
        """CREATE FUNCTION pulse.refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'cursor table unavailable'; END $$;
           CREATE TRIGGER refuse BEFORE INSERT ON pulse.cursors FOR EACH ROW EXECUTE FUNCTION pulse.refuse();"""
    )
    with pytest.raises(asyncpg.RaiseError):
        await Sink(pool).write([POST, favourite("20", POST.status_id)], [CursorMark(CH, "notifications", "20")])
    rows = await snapshot(pool)
    assert rows["statuses"] == [] and rows["interactions"] == [] and rows["cursors"] == []


async def test_a_delete_purges_the_text_and_its_interactions_and_blocks_a_late_copy(pool: asyncpg.Pool) -> None:
    sink = Sink(pool)
    await sink.write([POST, favourite("20", POST.status_id), EditEvent(status=POST_EDITED)])
    gone = DeleteEvent(channel=CH, status_id=POST.status_id, observed_at=datetime.now(timezone.utc), source=Source.STREAM)
    result = await sink.write([gone])
    # A REST page fetched before the delete arrives afterwards with the old copy and its favourite.
    await sink.write([POST.model_copy(update={"source": Source.REST}), favourite("20", POST.status_id, Source.REST)])
    rows = await snapshot(pool)
    assert result.deletes == 1
    assert rows["statuses"] == [] and rows["interactions"] == [] and rows["edits"] == []
    assert rows["tombstones"] == [(CH, POST.status_id)]


async def test_an_edit_replaces_the_text_and_an_older_edit_never_wins(pool: asyncpg.Pool) -> None:
    older = POST_EDITED.model_copy(
        update={"content": "<p>an older draft</p>", "edited_at": POST_EDITED.edited_at - timedelta(seconds=3)}
    )
    sink = Sink(pool)
    await sink.write([POST])
    await sink.write([EditEvent(status=POST_EDITED)])
    await sink.write([EditEvent(status=older)])
    await sink.write([POST.model_copy(update={"source": Source.REST})])  # the original, seen late
    row = (await snapshot(pool))["statuses"][0]
    assert row[5] == "<p>only real animals respond.</p>" and row[7] == POST_EDITED.edited_at
    assert [e[2] for e in (await snapshot(pool))["edits"]] == [older.edited_at, POST_EDITED.edited_at]


async def test_an_edit_of_an_unknown_other_status_is_ignored_but_an_unknown_reply_is_stored(pool: asyncpg.Pool) -> None:
    stranger = reply("900", MENTION, 1).model_copy(update={"in_reply_to_id": None, "edited_at": POST_EDITED.edited_at})
    answer = reply("901", POST, 2, Relation.REPLY).model_copy(update={"edited_at": POST_EDITED.edited_at})
    await Sink(pool).write([EditEvent(status=stranger), EditEvent(status=answer)])
    assert [r[1] for r in (await snapshot(pool))["statuses"]] == ["901"]


async def test_a_deep_reply_resolves_to_its_thread_in_every_arrival_order(pool: asyncpg.Pool) -> None:
    a = reply("1001", POST, 1, Relation.REPLY)
    b = reply("1002", a, 2)  # a reply to a reply: says OTHER until the thread is known
    c = reply("1003", b, 3)
    sink = Sink(pool)
    chains = list(itertools.permutations([POST, a, b, c]))
    for i, order in enumerate(chains):  # one channel per order: independent threads in one database
        ch = f"p{i}"
        for ev in order:
            await sink.write([ev.model_copy(update={"channel": ch})])
        # ... and the whole chain in one batch, in that order.
        await sink.write([ev.model_copy(update={"channel": f"b{i}"}) for ev in order])
    rows = await pool.fetch(
        "SELECT channel, kind, post_id, count(*) AS n FROM kpi.engagements GROUP BY 1, 2, 3 ORDER BY 1"
    )
    assert len(rows) == 2 * len(chains)
    assert {(r["kind"], r["post_id"], r["n"]) for r in rows} == {("reply", POST.status_id, 3)}


async def test_a_later_copy_upgrades_the_relation_but_never_downgrades_it(pool: asyncpg.Pool) -> None:
    seen_on_hashtag = MENTION.model_copy(update={"relation": Relation.OTHER, "mentions_channel": False})
    sink = Sink(pool)
    await sink.write([seen_on_hashtag])
    upgraded = await sink.write([MENTION])  # the notification says it mentions the channel
    unchanged = await sink.write([seen_on_hashtag])
    row = (await snapshot(pool))["statuses"][0]
    assert (upgraded.statuses, unchanged.statuses) == (1, 0)
    assert (row[2], row[4]) == ("mention", True)


async def test_an_account_purge_removes_handle_and_text_but_keeps_the_counts(pool: asyncpg.Pool) -> None:
    sink = Sink(pool)
    fav = favourite("20", POST.status_id).model_copy(update={"account": MENTION.account})
    await sink.write([POST, MENTION, fav])
    before = await pool.fetch("SELECT kind, count(*) FROM kpi.engagements GROUP BY 1 ORDER BY 1")
    gone = AccountGoneEvent(channel=CH, account_key=MENTION.account.key, observed_at=datetime.now(timezone.utc), source=Source.REST)
    await sink.write([gone])
    await sink.write([MENTION.model_copy(update={"source": Source.REST})])  # a late copy stays purged
    after = await pool.fetch("SELECT kind, count(*) FROM kpi.engagements GROUP BY 1 ORDER BY 1")
    acct = await pool.fetchrow("SELECT acct, url, purged_at FROM pulse.accounts WHERE account_key = $1", MENTION.account.key)
    text = await pool.fetchrow("SELECT content, url, text_purged_at FROM pulse.statuses WHERE status_id = $1", MENTION.status_id)
    assert after == before and len(after) == 2
    assert (acct["acct"], acct["url"]) == (None, None) and acct["purged_at"] is not None
    assert (text["content"], text["url"]) == (None, None) and text["text_purged_at"] is not None


async def test_nul_bytes_and_lone_surrogates_are_stored_replaced_instead_of_failing(pool: asyncpg.Pool) -> None:
    odd = MENTION.model_copy(update={"content": "a\x00b \ud83d c", "tags": ("x\x00y",)})
    await Sink(pool).write([odd])
    row = (await snapshot(pool))["statuses"][0]
    assert row[5] == "a\ufffdb \ufffd c" and row[6] == ["x\ufffdy"]


async def test_dead_letters_are_stored_once(pool: asyncpg.Pool) -> None:
    raw = json.dumps({"stream": ["user"], "event": "notification", "payload": json.dumps(_NOTE)})[:200]  # truncated: not JSON
    dl = DeadLetter(channel=CH, received_at=datetime.now(timezone.utc), source=Source.STREAM, reason="invalid JSON", payload=raw)
    sink = Sink(pool)
    first = await sink.write([dl])
    await sink.write([dl])
    assert first.dead_letters == 1
    assert (await snapshot(pool))["dead_letters"] == [(CH, "invalid JSON", raw)]


async def test_counts_snapshots_are_stored_once_per_observation(pool: asyncpg.Pool) -> None:
    snap = CountsSnapshot(
        channel=CH, post_id=POST.status_id, observed_at=datetime.now(timezone.utc),
        replies=1, favourites=2, reblogs=0, quotes=0,
    )
    sink = Sink(pool)
    await sink.write([snap, snap])
    await sink.write([snap])
    assert (await snapshot(pool))["snapshots"] == [(CH, POST.status_id, 2)]


def scenario(ns: str) -> list[Any]:
    """A day in a channel's life, every event kind mixed, in namespace `ns` (channel and account keys)."""

    def own(ev: Any) -> Any:
        if isinstance(ev, EditEvent):
            return EditEvent(status=own(ev.status))
        upd: dict[str, Any] = {"channel": ns}
        if hasattr(ev, "account"):
            upd["account"] = ev.account.model_copy(update={"key": f"{ns}:{ev.account.key}"})
        if isinstance(ev, AccountGoneEvent):
            upd["account_key"] = f"{ns}:{ev.account_key}"
        return ev.model_copy(update=upd)

    a = reply("1001", POST, 1, Relation.REPLY)
    b = reply("1002", a, 2)
    c = reply("1003", b, 3).model_copy(update={"account": POST.account.model_copy(update={"key": "k:other"})})
    older = POST_EDITED.model_copy(update={"content": "<p>draft</p>", "edited_at": POST_EDITED.edited_at - timedelta(seconds=1)})
    now = datetime(2026, 8, 2, 6, 0, tzinfo=timezone.utc)
    events = [
        POST, EditEvent(status=POST_EDITED), EditEvent(status=older), a, b, c,
        MENTION.model_copy(update={"relation": Relation.OTHER, "mentions_channel": False}), MENTION,
        favourite("20", POST.status_id), favourite("21", c.status_id), favourite("20", POST.status_id, Source.REST),
        DeleteEvent(channel=CH, status_id=c.status_id, observed_at=now, source=Source.STREAM),
        DeleteEvent(channel=CH, status_id=c.status_id, observed_at=now + timedelta(minutes=5), source=Source.REST),
        AccountGoneEvent(channel=CH, account_key=MENTION.account.key, observed_at=now, source=Source.REST),
        CountsSnapshot(channel=CH, post_id=POST.status_id, observed_at=now, replies=3, favourites=1, reblogs=0, quotes=0),
    ]
    return [own(ev) for ev in events]


async def test_any_permutation_split_into_any_batches_ends_with_the_same_rows(pool: asyncpg.Pool) -> None:
    import random

    rng = random.Random(20260802)
    sink = Sink(pool)
    runs = 8
    for i in range(runs):
        events = scenario(f"n{i}")
        rng.shuffle(events)
        cuts = sorted(rng.sample(range(1, len(events)), 3))
        for lo, hi in zip([0, *cuts], [*cuts, len(events)]):
            await sink.write(events[lo:hi])
    await sink.write(scenario("n0"))  # and once more, whole: nothing changes

    rows = await snapshot(pool)
    per_run: dict[str, list[str]] = {f"n{i}": [] for i in range(runs)}
    for table, items in rows.items():
        for item in items:
            text = repr(item)
            ns = next(n for n in per_run if f"'{n}'" in text or f"'{n}:" in text)
            per_run[ns].append(table + text.replace(f"'{ns}:", "'").replace(f"'{ns}'", "'ns'"))
    outcomes = {tuple(sorted(v)) for v in per_run.values()}
    assert len(outcomes) == 1
    (outcome,) = outcomes
    assert sum(line.startswith("statuses") for line in outcome) == 4  # post, a, b, mention; c deleted
    assert sum(line.startswith("interactions") for line in outcome) == 1  # the favourite of c went with c


async def test_the_store_reads_back_threads_live_posts_cursors_and_mentions_to_recheck(pool: asyncpg.Pool) -> None:
    from ingester import store

    a = reply("1001", POST, 1, Relation.REPLY)
    b = reply("1002", a, 2)
    await Sink(pool).write([b, a, POST, MENTION], [CursorMark(CH, "notifications", "16")])
    since = POST.created_at - timedelta(minutes=1)
    assert await store.thread_statuses(pool, CH, POST.status_id) == {POST.status_id: None, "1001": None, "1002": None}
    assert await store.stored_edits(pool, CH, ["1001", "9999"]) == {"1001": None}
    assert await store.live_posts(pool, CH, since) == [(POST.status_id, POST.created_at)]
    # only statuses outside the channel's threads need one-by-one re-checks; thread polling covers the rest
    assert await store.unthreaded_since(pool, CH, since) == [MENTION.status_id]
    assert await store.unthreaded_since(pool, CH, MENTION.created_at + timedelta(seconds=1)) == []
    assert await store.load_cursors(pool) == {(CH, "notifications"): "16"}


async def test_the_store_upserts_the_channel_and_writes_heartbeats(pool: asyncpg.Pool) -> None:
    from ingester import store

    await store.upsert_channel(pool, CH, "117020617404561855", "k:x", "old_handle", "http://localhost:3000")
    await store.upsert_channel(pool, CH, "117020617404561855", "k:x", "mastodonpy_test", "http://localhost:3000")
    at = datetime(2026, 8, 2, 6, 0, tzinfo=timezone.utc)
    assert await store.last_alive(pool, CH) is None
    await store.write_heartbeat(pool, {"channel": CH, "at": at, "stream_connected": True, "events_total": 5})
    with pytest.raises(ValueError, match="unknown column"):
        await store.write_heartbeat(pool, {"channel": CH, "at": at, "stream_connected": True, "token": "x"})
    assert await pool.fetchval("SELECT acct FROM pulse.channels") == "mastodonpy_test"
    assert await store.last_alive(pool, CH) == at  # no statuses yet: the heartbeat is the last sign of life


async def test_the_sink_forgets_a_connection_once_the_pool_closes_it_so_its_memory_stays_bounded(
    pool: asyncpg.Pool,
) -> None:
    # The pool retires idle connections and replaces them after every outage; a service that runs for
    # months sees thousands of backends. The sink's per-connection bookkeeping must not keep them all.
    sink = Sink(pool)
    for i in range(12):
        await sink.write([favourite(str(100 + i), POST.status_id)])
        await pool.expire_connections()  # as after an idle spell or an outage: the next acquire reconnects
    await asyncio.sleep(0)  # termination listeners run on the next turn of the loop
    assert len(sink._staged_on) <= 2  # the pool's max_size, not one entry per backend ever used
    assert (await sink.write([favourite("200", POST.status_id)])).interactions == 1  # staging still works


async def test_a_batch_that_loses_a_deadlock_is_written_again_and_stored_once(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The sink's retry on 40P01 (on full TimescaleDB, compression meets late rows this way), on any
    server: another session holds interactions and then asks for statuses, which the batch holds."""
    other = await asyncpg.connect(database_url)
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute("LOCK TABLE pulse.interactions IN SHARE ROW EXCLUSIVE MODE")
        sink = Sink(pool)
        writing = asyncio.create_task(sink.write([POST, favourite("31", POST.status_id)]))
        await asyncio.sleep(0.3)  # the batch has written statuses and waits for interactions
        # closes the cycle; the batch, waiting longer, is the one the deadlock check aborts
        await other.execute("LOCK TABLE pulse.statuses IN SHARE ROW EXCLUSIVE MODE")
        await tx.commit()
        result = await writing
    finally:
        await other.close()
    assert sink.conflicts_retried == 1
    assert (result.statuses, result.interactions) == (1, 1)
    assert [r[1] for r in (await snapshot(pool))["interactions"]] == ["31"]
