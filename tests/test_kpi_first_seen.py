"""pulse.account_first_seen (schema/011_first_seen.sql): when each account first engaged with each
channel, kept equal to the stored engagements by triggers through inserts, deletes and updates.

The rule: a deleted engagement no longer makes its author "seen" (it is gone from kpi.engagements),
so kpi.summary's new + returning = distinct keeps matching the events."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from test_kpi_world import World, build_world, t


@pytest.fixture
def world(database_url: str) -> World:
    return build_world(database_url)


def first_seen(url: str) -> dict[tuple[str, str], datetime]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT channel, account_key, first_seen_at FROM pulse.account_first_seen").fetchall()
    return {(c, a): at for c, a, at in rows}


def oracle(world: World) -> dict[tuple[str, str], datetime]:
    out: dict[tuple[str, str], datetime] = {}
    for e in world.engagements:
        key = (e.channel, e.account)
        out[key] = min(out.get(key, e.at), e.at)
    return out


def rebuilt(url: str) -> dict[tuple[str, str], datetime]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pulse.first_seen_rebuild()")
    return first_seen(url)


def test_first_seen_is_each_accounts_earliest_engagement_per_channel(database_url: str, world: World) -> None:
    assert first_seen(database_url) == oracle(world)


def test_the_deleted_reply_of_an_account_with_nothing_else_leaves_it_unseen(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        w = World(conn)
        w.channel("ams", "1")
        w.status("ams", "1001", t(3, 28, 10), "own_post", "")
        w.status("ams", "1106", t(3, 28, 16), "reply", "d", reply_to="1001", root="1001")
        assert first_seen(database_url) == {("ams", "d"): t(3, 28, 16)}
        w.delete("ams", "1106", t(3, 28, 17))
    assert first_seen(database_url) == {}


def test_deleting_an_accounts_first_engagements_moves_it_to_the_next_one(database_url: str, world: World) -> None:
    # a in ams: favourite n1 at 10:30, reply 1101 at 11:00, reply 1105 at 14:00 (2026-03-28)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM pulse.interactions WHERE channel = 'ams' AND notification_id = 'n1'")
        assert first_seen(database_url)[("ams", "a")] == t(3, 28, 11)
        World(conn).delete("ams", "1101", t(4, 2, 0))
    assert first_seen(database_url)[("ams", "a")] == t(3, 28, 14)
    assert first_seen(database_url)[("zuid", "a")] == t(3, 28, 12, 30)  # other channels untouched


def test_a_status_placed_in_a_thread_later_makes_its_author_seen_then(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        w = World(conn)
        w.channel("ams", "1")
        w.status("ams", "1001", t(3, 28, 10), "own_post", "")
        w.status("ams", "1102", t(3, 28, 12), "other", "b")  # parent not known yet: counts nowhere
        assert first_seen(database_url) == {}
        # thread polling finds where it hangs (the sink's APPLY_THREADS does this UPDATE)
        conn.execute("UPDATE pulse.statuses SET thread_root_id = '1001' WHERE status_id = '1102'")
    assert first_seen(database_url) == {("ams", "b"): t(3, 28, 12)}


def test_an_upgraded_relation_makes_its_author_seen(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        w = World(conn)
        w.channel("ams", "1")
        w.status("ams", "1401", t(3, 28, 18), "other", "c")
        conn.execute("UPDATE pulse.statuses SET relation = 'mention' WHERE status_id = '1401'")
    assert first_seen(database_url) == {("ams", "c"): t(3, 28, 18)}


def test_a_text_purge_leaves_first_seen_alone_and_the_table_equals_a_rebuild(
    database_url: str, world: World,
) -> None:
    before = first_seen(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT * FROM pulse.apply_retention(1, 1, 1, 1)")  # purges all resident text
    assert first_seen(database_url) == before
    assert rebuilt(database_url) == before


def test_the_writer_role_keeps_it_right_without_rights_on_it(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO pulse.channels (channel, account_id, account_key, acct, base_url)"
                     " VALUES ('ams', '1', 'k_ams', 'ams@x', 'https://x')")
        conn.execute("SET ROLE pulse_writer")
        conn.execute("INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, account_key,"
                     " source) VALUES ('ams', 'n9', %s, 'follow', 'g', 'stream')", (t(5, 1, 0),))
        conn.execute("DELETE FROM pulse.interactions WHERE notification_id = 'n9'")
        conn.execute("INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, account_key,"
                     " source) VALUES ('ams', 'n10', %s, 'follow', 'g', 'stream')", (t(5, 2, 0),))
    assert first_seen(database_url) == {("ams", "g"): t(5, 2, 0)}
