"""kpi.engagement_series and kpi.participants (schema/views/28_live_rollups.sql), which the Live board's
channel panels read, against their definitions computed from the rows stored (tests/live_oracle.py),
after random interleavings of inserts, late events, deletes, un-favourites, thread placements,
relation upgrades and format changes (the World of tests/test_kpi_rollups_random.py) around both DST
days: over ranges with edges anywhere, buckets of a minute, of whole hours (the rollups) and of other
widths, a single bucket for the whole range (local days from the daily rollups), every channel and one.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import live_oracle as oracle
import rollup_oracle
from test_kpi_rollups_random import CHANNELS, STARTS, World

WIDTHS = (None, timedelta(seconds=20), timedelta(minutes=1), timedelta(seconds=90), timedelta(hours=1),
          timedelta(hours=2), timedelta(hours=3), timedelta(days=1))


def series(conn: psycopg.Connection, lo: datetime, hi: datetime, width: timedelta | None,
           channel: str | None) -> dict[datetime, tuple[int, ...]]:
    return {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT * FROM kpi.engagement_series(%s, %s, %s, %s)", (lo, hi, width, channel)).fetchall()}


def random_range(rng: random.Random) -> tuple[datetime, datetime]:
    """Edges anywhere (partial minutes and hours); from an hour to four days long, or a few minutes."""
    lo = rng.choice(STARTS) + timedelta(seconds=rng.randrange(-36_000, 300_000), microseconds=rng.randrange(10**6))
    length = timedelta(minutes=rng.choice((rng.randrange(1, 90), rng.randrange(60, 6 * 60),
                                           rng.randrange(6 * 60, 4 * 24 * 60))))
    return lo, lo + length


@pytest.mark.parametrize("seed", [11, 12])
def test_engagement_series_and_participants_equal_the_events_after_random_changes(
    database_url: str, seed: int
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, seed)
        for i in range(1, 201):
            world.step()
            if i % 50:
                continue
            rows = rollup_oracle.engagements(conn)
            for _ in range(6):
                lo, hi = random_range(world.rng)
                channel = world.rng.choice((None, *CHANNELS))
                for width in WIDTHS:
                    assert series(conn, lo, hi, width, channel) == oracle.engagement_series(
                        rows, lo, hi, width, channel), (lo, hi, width, channel)
                got = conn.execute("SELECT kpi.participants(%s, %s, %s)", (lo, hi, channel)).fetchone()
                assert got == (oracle.participants(rows, lo, hi, channel),), (lo, hi, channel)


def test_the_whole_range_as_one_bucket_counts_both_dst_days_exactly(database_url: str) -> None:
    # local 2026-03-29 has 23 hours and 2026-10-25 has 25: whole local days come from the daily rollups
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 5)
        for _ in range(200):
            world.step()
        rows = rollup_oracle.engagements(conn)
        for lo, hi in ((datetime(2026, 3, 28, 22, 30, tzinfo=UTC), datetime(2026, 3, 30, 1, 15, tzinfo=UTC)),
                       (datetime(2026, 10, 24, 21, 59, tzinfo=UTC), datetime(2026, 10, 26, 0, 1, tzinfo=UTC))):
            for channel in (None, *CHANNELS):
                assert series(conn, lo, hi, None, channel) == oracle.engagement_series(rows, lo, hi, None, channel)
                assert conn.execute("SELECT kpi.participants(%s, %s, %s)", (lo, hi, channel)).fetchone() == (
                    oracle.participants(rows, lo, hi, channel),)


def test_an_account_that_only_followed_is_no_participant_and_one_that_also_mentioned_is(database_url: str) -> None:
    day = datetime(2026, 5, 4, tzinfo=UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, account_key, source)
                        VALUES ('ams', 'f1', %(d)s + interval '3 hours', 'follow', 'follower', 'stream'),
                               ('ams', 'f2', %(d)s + interval '4 hours', 'follow', 'talker', 'stream')""", {"d": day})
        conn.execute("""INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, source)
                        VALUES ('ams', 'm1', %(d)s + interval '20 hours', 'mention', 'talker', 'stream')""", {"d": day})
        # a whole day (the account sets) and a few hours (the events) agree
        assert conn.execute("SELECT kpi.participants(%s, %s)", (day, day + timedelta(days=1))).fetchone() == (1,)
        assert conn.execute("SELECT kpi.participants(%s, %s)", (day, day + timedelta(hours=5))).fetchone() == (0,)
        conn.execute("DELETE FROM pulse.statuses WHERE status_id = 'm1'")
        assert conn.execute("SELECT kpi.participants(%s, %s)", (day, day + timedelta(days=1))).fetchone() == (0,)


def test_an_empty_or_reversed_range_has_no_rows_and_no_participants(database_url: str) -> None:
    at = datetime(2026, 5, 4, tzinfo=UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                        account_key, source)
                        VALUES ('ams', 'n1', %s, 'favourite', 'p', 'a', 'stream')""", (at,))
        assert series(conn, at, at, timedelta(hours=1), None) == {}
        assert series(conn, at + timedelta(hours=1), at, None, None) == {}
        assert conn.execute("SELECT kpi.participants(%s, %s)", (at, at)).fetchone() == (0,)
        assert series(conn, at, at + timedelta(seconds=1), None, None) == {at: (0, 0, 0, 1, 0, 0)}


def test_the_hourly_engagement_counts_rebuilt_from_the_events_are_those_the_triggers_kept(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 13)
        for _ in range(200):
            world.step()
        kept = conn.execute("SELECT * FROM pulse.engagement_hours ORDER BY 1, 2").fetchall()
        conn.execute("SELECT pulse.engagement_hours_rebuild()")
        assert conn.execute("SELECT * FROM pulse.engagement_hours ORDER BY 1, 2").fetchall() == kept and kept
