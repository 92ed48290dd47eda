"""The per-post thread figures kept by triggers (022_thread_participants.sql, views/27) against their
definition computed straight from the stored events, after random interleavings of what the sink and
an operator do: posts, replies before and after their post is stored, deep replies, the city's
answers and self-thread continuations, late thread placement (UPDATE thread_root_id), a status moved
to another thread, relation upgrades, deletes of replies, answers and posts (one or several per
statement), and likes and un-likes that move an account's first engagement with the channel earlier
and later.

Compared: kpi.post_stats.repliers, first_reply_at and city_replies; kpi.sessions.participants,
new_participants, returning_participants, first_reply_at and last_reply_at. The definition (RAW
below) reads pulse.statuses and pulse.interactions only: not the first-seen table, not the rollups.
Times sit on a half-hour grid, so first engagements often coincide with a post (new: "at or after").
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from timescale import timescale_server, timescale_url  # noqa: F401  (fixtures)

CHANNELS = ("ams", "zuid")
START = datetime(2026, 3, 27, 12, tzinfo=UTC)
SLOTS = 200  # half-hours
ACCOUNTS = [f"acct{i}" for i in range(15)]

# The columns under test, straight from the events. An engagement (for first-seen) is a resident's
# status inside a thread or a reply, quote or mention, or any favourite, reblog or follow.
RAW = """
WITH engagement AS (
  SELECT s.channel, s.account_key, s.created_at AS at FROM pulse.statuses s
   WHERE s.relation <> 'own_post' AND (s.thread_root_id IS NOT NULL OR s.relation IN ('reply', 'quote', 'mention'))
  UNION ALL
  SELECT i.channel, i.account_key, i.occurred_at FROM pulse.interactions i
), first_seen AS (
  SELECT channel, account_key, min(at) AS at FROM engagement GROUP BY 1, 2
)
SELECT p.channel, p.status_id, p.created_at,
       (SELECT count(DISTINCT r.account_key) FROM pulse.statuses r
         WHERE r.channel = p.channel AND r.thread_root_id = p.status_id AND r.relation <> 'own_post'),
       (SELECT min(r.created_at) FROM pulse.statuses r
         WHERE r.channel = p.channel AND r.thread_root_id = p.status_id AND r.relation <> 'own_post'),
       (SELECT max(r.created_at) FROM pulse.statuses r
         WHERE r.channel = p.channel AND r.thread_root_id = p.status_id AND r.relation <> 'own_post'),
       (SELECT count(*) FROM pulse.statuses a
         WHERE a.channel = p.channel AND a.thread_root_id = p.status_id AND a.relation = 'own_post'
           AND a.in_reply_to_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM pulse.statuses q
                            WHERE q.channel = a.channel AND q.status_id = a.in_reply_to_id
                              AND q.relation = 'own_post' AND q.thread_root_id = p.status_id)),
       (SELECT count(*) FROM (SELECT DISTINCT r.account_key FROM pulse.statuses r
                               WHERE r.channel = p.channel AND r.thread_root_id = p.status_id
                                 AND r.relation <> 'own_post') d
          LEFT JOIN first_seen f ON f.channel = p.channel AND f.account_key = d.account_key
         WHERE f.at IS NULL OR f.at >= p.created_at)
  FROM pulse.statuses p
 WHERE p.relation = 'own_post' AND p.in_reply_to_id IS NULL"""

KEPT = """
SELECT ps.channel, ps.post_id, ps.posted_at, ps.repliers, ps.first_reply_at, se.last_reply_at, ps.city_replies,
       se.new_participants, se.participants, se.returning_participants, se.first_reply_at
  FROM kpi.post_stats ps
  JOIN kpi.sessions se ON se.channel = ps.channel AND se.post_id = ps.post_id AND se.posted_at = ps.posted_at"""


def raw(conn: psycopg.Connection) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    rows = conn.execute(RAW).fetchall()
    return {r[:3]: r[3:] for r in rows}


def kept(conn: psycopg.Connection) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    out = {}
    for r in conn.execute(KEPT).fetchall():
        key, (repliers, first, last, city, new, participants, returning, session_first) = r[:3], r[3:]
        # the sessions' own columns agree with post_stats and add up
        assert (participants, session_first) == (repliers, first), key
        assert new + returning == participants, key
        out[key] = (repliers, first, last, city, new)
    return out


class World:
    """Random statements against the event tables, shaped like the sink's."""

    def __init__(self, conn: psycopg.Connection, seed: int) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        self.next_id = 1000

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def slot(self) -> datetime:
        return START + timedelta(minutes=30 * self.rng.randrange(SLOTS))

    def pick(self, sql: str, n: int = 1) -> list[tuple[Any, ...]]:
        """Up to n rows of the query's, chosen by the seed (not by the server's random(): reproducible)."""
        rows = sorted(self.conn.execute(sql).fetchall(), key=repr)
        return self.rng.sample(rows, min(n, len(rows)))

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        """One multi-row INSERT: (channel, id, at, relation, account, in_reply_to, quoted, root)."""
        if rows:
            self.conn.execute(
                "INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, in_reply_to_id,"
                " quoted_id, thread_root_id, source) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, 'stream')"] * len(rows)),
                [v for r in rows for v in r])

    def posts(self) -> None:
        """New posts, sometimes with replies already in their thread in the same statement."""
        rows = []
        for _ in range(self.rng.randint(1, 2)):
            pid, ch, at = self.new_id(), self.rng.choice(CHANNELS), self.slot()
            rows.append((ch, pid, at, "own_post", "city", None, None, pid))
            for _ in range(self.rng.choice((0, 0, 1, 3))):
                rows.append((ch, self.new_id(), at + timedelta(minutes=30 * self.rng.randint(0, 6)), "reply",
                             self.rng.choice(ACCOUNTS), pid, None, pid))
        self.insert(rows)

    def statuses(self) -> None:
        """Replies to posts (stored or not yet), deep replies, the city's answers and continuations,
        quotes and mentions; a thread root only where the sink would know it at insert time."""
        rows = []
        for _ in range(self.rng.randint(1, 12)):
            shape = self.rng.random()
            acct, sid = self.rng.choice(ACCOUNTS), self.new_id()
            parent = self.pick("SELECT channel, status_id, created_at, thread_root_id, relation FROM pulse.statuses")
            if shape < 0.15 or not parent:  # a reply to a post not stored (yet): no root
                ch, at = self.rng.choice(CHANNELS), self.slot()
                rows.append((ch, sid, at, "reply", acct, str(self.next_id + self.rng.randint(1, 30)), None, None))
                continue
            ch, pid, pat, root, rel = parent[0]
            at = pat + timedelta(minutes=30 * self.rng.randint(-2, 40))
            if shape < 0.6:  # a resident replies (a direct reply to the city, or deep in the thread)
                relation = "reply" if rel == "own_post" else self.rng.choice(("other", "mention", "reply"))
                rows.append((ch, sid, at, relation, acct, pid, None, root))
            elif shape < 0.8:  # the city answers, or continues its own thread
                rows.append((ch, sid, at, "own_post", "city", pid, None, root))
            elif shape < 0.9:
                rows.append((ch, sid, at, "quote", acct, None, pid, None))
            else:
                rows.append((ch, sid, self.slot(), "mention", acct, None, None, None))
        self.insert(rows)

    def place_in_threads(self) -> None:
        """The sink's thread resolution, one level per call: a status whose parent has a root gets it."""
        self.conn.execute("""UPDATE pulse.statuses s SET thread_root_id = p.thread_root_id
                               FROM pulse.statuses p
                              WHERE s.channel = p.channel AND s.in_reply_to_id = p.status_id
                                AND p.thread_root_id IS NOT NULL AND s.thread_root_id IS NULL""")

    def move_to_other_thread(self) -> None:
        for ch, sid, _ in self.pick("SELECT channel, status_id, 1 FROM pulse.statuses WHERE thread_root_id IS NOT NULL"
                                    " AND in_reply_to_id IS NOT NULL"):
            post = self.pick(f"SELECT status_id FROM pulse.statuses WHERE channel = '{ch}' AND relation = 'own_post'"
                             " AND in_reply_to_id IS NULL")
            if post:
                self.conn.execute("UPDATE pulse.statuses SET thread_root_id = %s WHERE channel = %s AND status_id = %s",
                                  (post[0][0], ch, sid))

    def upgrade_relation(self) -> None:
        up = self.pick("SELECT channel, status_id FROM pulse.statuses WHERE relation IN ('other', 'mention')", 2)
        self.conn.execute("UPDATE pulse.statuses SET relation = 'reply' WHERE (channel, status_id) IN"
                          " (SELECT * FROM unnest(%s::text[], %s::text[]))", ([u[0] for u in up], [u[1] for u in up]))

    def delete_statuses(self) -> None:
        """As the sink applies deletes: the statuses (one or several in one statement) and their likes."""
        which = self.rng.choice(("relation <> 'own_post'", "relation = 'own_post' AND in_reply_to_id IS NOT NULL",
                                 "relation = 'own_post' AND in_reply_to_id IS NULL", "true"))
        gone = self.pick(f"SELECT channel, status_id FROM pulse.statuses WHERE {which}", self.rng.randint(1, 4))
        for table in ("statuses", "interactions"):
            self.conn.execute(f"DELETE FROM pulse.{table} WHERE (channel, status_id) IN"
                              " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                              ([g[0] for g in gone], [g[1] for g in gone]))

    def likes(self) -> None:
        """Favourites, some long before anything else the account did (its first engagement moves)."""
        rows = []
        for _ in range(self.rng.randint(1, 6)):
            ch, kind = self.rng.choice(CHANNELS), self.rng.choice(("favourite", "favourite", "reblog", "follow"))
            post = self.pick(f"SELECT status_id FROM pulse.statuses WHERE channel = '{ch}' AND relation = 'own_post'")
            rows.append((ch, self.new_id(), self.slot(), kind, None if kind == "follow" or not post else post[0][0],
                         self.rng.choice(ACCOUNTS)))
        self.conn.execute(
            "INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id, account_key,"
            " source) VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, 'stream')"] * len(rows)),
            [v for r in rows for v in r])

    def unlike(self) -> None:
        gone = self.pick("SELECT channel, notification_id FROM pulse.interactions", 2)
        self.conn.execute("DELETE FROM pulse.interactions WHERE (channel, notification_id) IN"
                          " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                          ([g[0] for g in gone], [g[1] for g in gone]))

    def step(self) -> None:
        ops = [(self.posts, 2), (self.statuses, 6), (self.place_in_threads, 2), (self.move_to_other_thread, 0.5),
               (self.upgrade_relation, 1), (self.delete_statuses, 2), (self.likes, 3), (self.unlike, 1.5)]
        self.rng.choices([f for f, _ in ops], [w for _, w in ops])[0]()


def play(url: str, seed: int, steps: int, every: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, seed)
        for i in range(1, steps + 1):
            world.step()
            if i % every == 0:
                assert kept(conn) == raw(conn), (seed, i)
        assert conn.execute("SELECT count(*) FROM kpi.post_stats WHERE repliers > 0").fetchone()[0] > 0


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_thread_figures_equal_the_raw_events_after_random_changes(database_url: str, seed: int) -> None:
    play(database_url, seed, 300, 30)


def test_thread_figures_equal_the_raw_events_on_timescaledb_row_triggers(
        timescale_url: str) -> None:  # noqa: F811
    """Deletes and updates go through the row-level triggers there."""
    with psycopg.connect(timescale_url) as conn:
        levels = conn.execute("""SELECT tgname, (tgtype & 1) = 1 FROM pg_trigger
                                  WHERE tgrelid = 'pulse.statuses'::regclass AND tgname LIKE 'thread_%'""").fetchall()
    assert dict(levels) == {"thread_insert": False, "thread_delete": True, "thread_update": True,
                            "thread_truncate": False}
    play(timescale_url, 5, 300, 30)


def test_thread_figures_equal_the_raw_events_when_the_rollups_are_deferred_to_the_batch_end(
        database_url: str) -> None:
    """As the sink writes: first-seen changes arrive at pulse.rollup_flush, after the statements'
    participant changes (and an account may come and go before the flush)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, 6)
        for _ in range(8):
            for _ in range(8):
                with conn.transaction():
                    conn.execute("SELECT pulse.rollup_defer()")
                    for _ in range(world.rng.randint(1, 8)):
                        world.step()
                    conn.execute("SELECT pulse.rollup_flush()")
            assert kept(conn) == raw(conn)


def test_a_rebuild_from_the_events_gives_what_the_triggers_kept(database_url: str) -> None:
    # (rows of posts that are gone and have no replier left stay until a rebuild, as zero counts do)
    stats = "SELECT * FROM pulse.thread_stats WHERE posted_at IS NOT NULL OR repliers > 0 ORDER BY 1, 2"
    participants = "SELECT * FROM pulse.thread_participants WHERE replies > 0 ORDER BY 1, 2, 3"
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 11)
        for _ in range(200):
            world.step()
        before = conn.execute(stats).fetchall(), conn.execute(participants).fetchall()
        conn.execute("SELECT pulse.thread_rebuild()")
        assert (conn.execute(stats).fetchall(), conn.execute(participants).fetchall()) == before
        assert conn.execute("SELECT count(*) FROM pulse.thread_participants WHERE replies = 0").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM pulse.thread_stats WHERE posted_at IS NULL AND repliers = 0"
                            ).fetchone()[0] == 0


def test_emptying_the_first_seen_table_makes_every_participant_new(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 12)
        for _ in range(120):
            world.step()
        assert kept(conn) == raw(conn)
        conn.execute("TRUNCATE pulse.account_first_seen")
        rows = conn.execute("SELECT participants, new_participants FROM kpi.sessions").fetchall()
        assert any(p > 0 for p, _ in rows)
        assert all(p == n for p, n in rows)


def test_a_truncate_of_the_statuses_builds_the_figures_again(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 13)
        for _ in range(120):
            world.step()
        conn.execute("TRUNCATE pulse.statuses")
        assert conn.execute("SELECT count(*) FROM pulse.thread_stats").fetchone()[0] == 0
        for _ in range(60):
            world.step()
        assert kept(conn) == raw(conn)


def test_a_post_stored_twice_under_one_id_judges_each_row_by_its_own_time(database_url: str) -> None:
    """Two rows with one status id and two publication times: each session row counts its own new
    participants (one of them from the thread itself)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        w = World(conn, 14)
        w.insert([("ams", "p1", START, "own_post", "city", None, None, "p1"),
                  ("ams", "p1", START + timedelta(hours=5), "own_post", "city", None, None, "p1"),
                  ("ams", "r1", START + timedelta(hours=2), "reply", "acct1", "p1", None, "p1"),
                  ("ams", "r2", START + timedelta(hours=6), "reply", "acct2", "p1", None, "p1")])
        assert kept(conn) == raw(conn)
        assert sorted(conn.execute("SELECT new_participants FROM kpi.sessions").fetchall()) == [(1,), (2,)]
