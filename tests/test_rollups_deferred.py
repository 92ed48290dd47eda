"""The rollups when a writer defers them to one flush per transaction (schema/views/23_rollups.sql,
pulse.rollup_defer / pulse.rollup_flush, as the sink does for each batch): the same random statements as
tests/test_kpi_rollups_random.py, grouped into transactions, give every rollup-backed KPI and
pulse.account_first_seen exactly as the raw events define them -- also where a transaction stores an
engagement and removes or changes it again before the flush.
"""

from __future__ import annotations

import psycopg
import pytest

from test_kpi_rollups_random import World, check


def play_deferred(conn: psycopg.Connection, world: World, transactions: int) -> None:
    """Each transaction: defer, a few random statements, flush, commit."""
    for _ in range(transactions):
        with conn.transaction():
            conn.execute("SELECT pulse.rollup_defer()")
            for _ in range(world.rng.randint(1, 8)):
                world.step()
            conn.execute("SELECT pulse.rollup_flush()")


@pytest.mark.parametrize("seed", [11, 12])
def test_deferred_rollups_equal_the_raw_events_after_random_transactions(database_url: str, seed: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, seed)
        for _ in range(4):
            play_deferred(conn, world, 15)
            check(conn, world.rng)


def test_an_engagement_stored_and_removed_before_the_flush_leaves_no_trace(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        with conn.transaction():
            conn.execute("SELECT pulse.rollup_defer()")
            conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                            account_key, source)
                            VALUES ('ams', 'n1', '2026-03-28 10:00+00', 'favourite', 'p1', 'acct1', 'stream')""")
            conn.execute("DELETE FROM pulse.interactions WHERE notification_id = 'n1'")
            conn.execute("SELECT pulse.rollup_flush()")
        assert conn.execute("SELECT count(*) FROM pulse.rollup_counts").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pulse.rollup_accounts WHERE n > 0").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pulse.account_first_seen").fetchone() == (0,)


def test_statements_after_the_flush_keep_the_rollups_themselves(database_url: str) -> None:
    """The flush ends the deferral: a later statement of the same transaction is applied at once."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SELECT pulse.rollup_defer()")
            conn.execute("SELECT pulse.rollup_flush()")
            conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                            account_key, source)
                            VALUES ('ams', 'n1', '2026-03-28 10:00+00', 'follow', NULL, 'acct1', 'stream')""")
            assert conn.execute("SELECT sum(follows) FROM pulse.rollup_counts WHERE grain = '1h'").fetchone() == (1,)
