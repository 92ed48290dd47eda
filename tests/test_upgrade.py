"""Upgrade in place: a city running the release keeps its history and its figures.

A database is built with the release's schema (tests/data/release_schema/, frozen) and filled through the sink
(its SQL is the release's, unchanged: the rollups are kept by triggers, not by the sink; should a later sink
write what a release's schema lacks, freeze that release's sink beside its schema), with the two-channel scenario of
tests/tier_scenario.py — both DST days, four formats, children before parents, deletes, edits that change a
format, a withdrawn like in a counter snapshot, a purged account. Then today's `migrate` upgrades it. Every
KPI (every relation and function in schema `kpi`, read from the catalog) must be the same before and after,
and ingestion must go on right after: later events written through today's sink give the same KPIs as a
database built fresh with today's schema from all the events.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import psycopg

from conftest import DATA
from ingester import store
from ingester.events import CountsSnapshot, InteractionKind, Relation, StatusEvent
from ingester.grafana.build import dashboards
from ingester.grafana.macros import TimeRange
from ingester.migrate import SCHEMA_DIR, migrate, migration_files, view_files
from ingester.sink import AnyEvent, CursorMark, Sink
from kpi_catalog import differences, kpis, seen
from test_grafana_scenario import install_time_bucket_shim
from test_timescale_tier import board_results, pause_jobs, same_rows, session
from tier_scenario import CITY, CITY_ID, Builder, batches, deleted, edited, t

RELEASE = DATA / "release_schema" / "0.1.0+a6b5b85"
TIER = os.environ.get("PULSE_TIER", "auto")


async def fill(url: str, sink_class: Any, parts: Sequence[Sequence[AnyEvent]], now: datetime, *, first: int) -> None:
    """Write `parts` as the service would: the channels, then each batch with its cursor and a heartbeat per
    channel. `first` numbers the batches on (cursors and heartbeats as one run that went on)."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        for ch, city in CITY.items():
            await store.upsert_channel(pool, ch, CITY_ID[ch], city, f"{ch}@stad.example", "https://stad.example")
        sink = sink_class(pool)
        for i, batch in enumerate(parts, start=first):
            await sink.write(batch, [CursorMark("ams", "notifications", str(1000 + i))])
            for ch in CITY:
                await store.write_heartbeat(pool, {"channel": ch, "at": now - timedelta(minutes=60 - i),
                                                   "stream_connected": True, "events_total": 10 * i, "spool_depth": 0})
    finally:
        await pool.close()


def later_events(now: datetime, history: Sequence[Sequence[AnyEvent]]) -> list[list[AnyEvent]]:
    """What arrives after the upgrade: late replies and likes into old (DST) days, an edit that changes an old
    post's format, a delete, a withdrawn like, and today's traffic with a child before its parent."""
    posts = [e for batch in history for e in batch if isinstance(e, StatusEvent) and e.relation is Relation.OWN_POST]
    spot = next(p for p in posts if p.tags == ("innovatorspotlight",) and p.channel == "ams")  # local 2026-03-28
    z1 = next(p for p in posts if p.tags == ("vraagvandegemeente",))  # 2026-10-25, channel zuid
    replies = [e for batch in history for e in batch if isinstance(e, StatusEvent) and e.relation is Relation.REPLY]
    b = Builder()
    b.next_id = 120_000_000_000_000_000
    late = b.reply(spot, t(3, 29, 0, 45), 30, Relation.REPLY)  # thread polling finds a March reply (DST day)
    new = b.post("ams", now - timedelta(hours=3), "qena")
    child = b.reply(new, now - timedelta(hours=2), 31, Relation.REPLY)
    return [
        [child, late, b.like(z1, t(10, 25, 1, 30), 32), b.like(spot, t(3, 29, 1, 30), 2, InteractionKind.REBLOG)],
        [new, edited(spot, t(3, 29, 12), tags=("qena",)),  # innovator spotlight -> Q&A, months later
         deleted(replies[-1], now - timedelta(hours=1)),
         CountsSnapshot(channel="ams", post_id=spot.status_id, observed_at=now - timedelta(minutes=30),
                        replies=2, favourites=1, reblogs=1, quotes=0),  # one of its two likes withdrawn
         b.like(new, now - timedelta(minutes=20), 1), b.follow("zuid", now - timedelta(minutes=10), 33)],
    ]


def new_files() -> list[str]:
    released = {p.name for p in migration_files(RELEASE)}
    return [p.name for p in migration_files() if p.name not in released]


def test_every_released_migration_ships_unchanged_under_its_own_name() -> None:
    # `migrate` skips a migration recorded by name and refuses one whose text changed: a renamed, edited or
    # removed file would leave an upgraded database different from a fresh one.
    today = {p.name: p.read_bytes() for p in migration_files(SCHEMA_DIR)}
    for path in migration_files(RELEASE):
        assert today.get(path.name) == path.read_bytes(), f"{path.name} changed or disappeared since the release"


async def test_an_upgrade_keeps_every_kpi_and_ingestion_goes_on_as_on_a_fresh_database(
    empty_database_url: str, database_url: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    history = batches(now)
    release = migrate(empty_database_url, schema_dir=RELEASE, tier=TIER)
    assert release.applied == [p.name for p in migration_files(RELEASE)]
    # Full TimescaleDB: a refresh the release's policies ran between two batches would leave the later rows of
    # a materialised bucket out of `before` until its next refresh; the comparison is about the upgrade.
    pause_jobs(empty_database_url)
    await fill(empty_database_url, Sink, history, now, first=0)
    before = kpis(empty_database_url, now)
    assert seen(before) > 150, "too few KPI queries saw data: the comparison would prove little"
    with psycopg.connect(empty_database_url, autocommit=True) as conn:  # the jobs go on (as paused, they'd differ)
        if conn.execute("SELECT pulse.tier()").fetchone() == ("timescale",):
            conn.execute("SELECT alter_job(job_id, scheduled => true) FROM timescaledb_information.jobs"
                         " WHERE job_id >= 1000")

    upgrade = migrate(empty_database_url, tier=TIER)
    assert upgrade.applied == new_files()  # exactly the run-once files added since the release
    assert upgrade.views == [p.name for p in view_files()]
    after = kpis(empty_database_url, now)
    added = {k for k in after.keys() - before.keys()}  # objects new in this release: nothing to compare
    assert differences(before, {k: v for k, v in after.items() if k not in added}) == []

    later = later_events(now, history)
    await fill(empty_database_url, Sink, later, now, first=len(history))
    await fill(database_url, Sink, [*history, *later], now, first=0)
    for url in (empty_database_url, database_url):  # full TimescaleDB: late events into materialised buckets
        with psycopg.connect(url, autocommit=True) as conn:  # count once refreshed (a no-op on other tiers)
            conn.execute("CALL pulse.refresh_aggregates()")
    upgraded, fresh = kpis(empty_database_url, now), kpis(database_url, now)
    assert_same_boards(database_url, empty_database_url, now)  # the boards read more than the kpi views
    assert differences(fresh, upgraded) == []
    assert differences(before, upgraded) != []  # the later events changed the figures that were compared


def assert_same_boards(want_url: str, got_url: str, now: datetime) -> None:
    """Every panel of every board, as Grafana runs it over the whole history, gives the same rows on both."""
    for url in (want_url, got_url):
        install_time_bucket_shim(url)  # Grafana emits time_bucket(); plain PostgreSQL lacks it
    rng = TimeRange(t(3, 1, 0), now)
    with session(want_url) as a, session(got_url) as b:
        want, got = board_results(a, rng), board_results(b, rng)
    assert sum(bool(rows) for _, rows in want.values()) > len(want) // 2  # most panels see data
    # Panels of kpi.background_jobs show the scheduler's bookkeeping of each database (when each job ran, how
    # often, whether its last run met a concurrent refresh): on full TimescaleDB only which jobs there are, of
    # what kind, on what, compare (columns 2 and 3 of the jobs panel).
    scheduler = {f"{b.uid} / {p.key}" for b in dashboards() for p in b.panels if "background_jobs" in p.query.sql}
    # Rows per ingestion time: each database ingested the same events at its own moments (the panel counts the
    # whole minutes its range touches, which may hold rows written after the range's end).
    ingested = {f"{b.uid} / {p.key}" for b in dashboards() for p in b.panels if "ingest_series" in p.query.sql}
    for key, (clock, rows) in want.items():  # a panel reading now() may differ by the seconds between reads
        if key in ingested:
            continue
        if key in scheduler:
            assert sorted(r[1:3] for r in rows) == sorted(r[1:3] for r in got[key][1]), key
            continue
        assert same_rows(rows, got[key][1], clock_slack=60.0 if clock else 0.0), f"{key}:\n {rows}\n {got[key][1]}"
