"""The rollups (020_rollups.sql, views/23-24) against the raw events, after random interleavings of
inserts, late events, deletes, un-favourites, thread placements, relation upgrades and edits that
change a post's format (and a format map that changes): every rollup-backed KPI equals its
definition computed in Python from the rows stored at that moment (tests/rollup_oracle.py), and so
does pulse.account_first_seen, which the same trigger calls keep.

Each seed plays a few hundred statements shaped like the sink's (multi-row INSERTs, DELETEs of a
status with its favourites, UPDATEs of relation, thread root and tags) around both DST days.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

import rollup_oracle as oracle

TZ = ZoneInfo("Europe/Amsterdam")
CHANNELS = ("ams", "zuid")
TAGS = (["qena"], ["innovatorspotlight"], ["vraagvandegemeente"], ["wonen"], [], ["QenA", "wonen"])
STARTS = (datetime(2026, 3, 27, 20, tzinfo=UTC), datetime(2026, 10, 23, 20, tzinfo=UTC))
SPAN = timedelta(days=3)


class World:
    """Random statements against the event tables, remembering ids to refer back to."""

    def __init__(self, conn: psycopg.Connection, seed: int) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        self.next_id = 1000
        self.posts: list[tuple[str, str, datetime]] = []      # (channel, id, at): stored top-level posts
        self.unstored: list[tuple[str, str, datetime]] = []   # posts referred to before they are stored
        self.statuses: list[tuple[str, str, datetime]] = []   # residents' statuses
        self.accounts = [f"acct{i}" for i in range(40)]

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def when(self) -> datetime:
        start = self.rng.choice(STARTS)
        return start + timedelta(seconds=self.rng.randrange(int(SPAN.total_seconds())))

    def post_ref(self) -> tuple[str, str, datetime]:
        """A post to engage with: usually stored, sometimes one that arrives later."""
        if not self.posts or self.rng.random() < 0.15:
            ref = (self.rng.choice(CHANNELS), self.new_id(), self.when())
            self.unstored.append(ref)
            return ref
        return self.rng.choice(self.posts)

    def insert_posts(self) -> None:
        rows = []
        for _ in range(self.rng.randint(1, 3)):
            if self.unstored and self.rng.random() < 0.5:  # a post engaged with earlier arrives now
                ch, pid, at = self.unstored.pop(self.rng.randrange(len(self.unstored)))
            else:
                ch, pid, at = self.rng.choice(CHANNELS), self.new_id(), self.when()
            rows.append((ch, pid, at, self.rng.choice(TAGS)))
            self.posts.append((ch, pid, at))
        with self.conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                                               thread_root_id, tags, source)
                   VALUES (%s, %s, %s, 'own_post', 'city', %s, %s, 'rest')""",
                [(ch, pid, at, pid, tags) for ch, pid, at, tags in rows])

    def insert_statuses(self) -> None:
        rows = []
        for _ in range(self.rng.randint(1, 20)):
            ch, pid, at = self.post_ref()
            sid, acct = self.new_id(), self.rng.choice(self.accounts)
            late = at + timedelta(minutes=self.rng.randrange(0, 3000))
            shape = self.rng.random()
            stored = (ch, pid, at) in self.posts
            if shape < 0.5:    # a reply; its thread root only when the post is already stored
                rows.append((ch, sid, late, "reply", acct, pid, None, pid if stored else None))
            elif shape < 0.7:  # deep reply in the thread
                rows.append((ch, sid, late, "other", acct, None, None, pid if stored else None))
            elif shape < 0.85:
                rows.append((ch, sid, late, "quote", acct, None, pid, None))
            else:
                rows.append((ch, sid, late, "mention", acct, None, None, None))
            self.statuses.append((ch, sid, late))
        with self.conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                                               in_reply_to_id, quoted_id, thread_root_id, source)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'stream')""", rows)

    def insert_interactions(self) -> None:
        rows = []
        for _ in range(self.rng.randint(1, 25)):
            kind = self.rng.choice(("favourite", "favourite", "reblog", "follow"))
            ch, pid, at = self.post_ref()
            when = at + timedelta(minutes=self.rng.randrange(0, 3000))
            rows.append((ch, self.new_id(), when, kind, None if kind == "follow" else pid,
                         self.rng.choice(self.accounts)))
        with self.conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                   account_key, source)
                   VALUES (%s, %s, %s, %s, %s, %s, 'stream')""", rows)

    def delete_status(self) -> None:
        """A delete, as the sink applies it: the status and the favourites of it go."""
        pool = self.statuses if self.statuses and self.rng.random() < 0.8 else self.posts
        if not pool:
            return
        ch, sid, _ = pool.pop(self.rng.randrange(len(pool)))
        for table in ("statuses", "interactions"):
            self.conn.execute(f"DELETE FROM pulse.{table} WHERE channel = %s AND status_id = %s", (ch, sid))

    def unfavourite(self) -> None:
        self.conn.execute("""DELETE FROM pulse.interactions WHERE (channel, notification_id) IN (
                               SELECT channel, notification_id FROM pulse.interactions
                                WHERE kind = 'favourite' ORDER BY random() LIMIT 1)""")

    def edit_tags(self) -> None:
        if self.posts:
            ch, pid, _ = self.rng.choice(self.posts)
            self.conn.execute("UPDATE pulse.statuses SET tags = %s WHERE channel = %s AND status_id = %s",
                              (self.rng.choice(TAGS), ch, pid))

    def place_in_threads(self) -> None:
        """The sink's thread resolution: replies to a stored post get its root."""
        self.conn.execute("""UPDATE pulse.statuses s SET thread_root_id = p.status_id
                               FROM pulse.statuses p
                              WHERE p.relation = 'own_post' AND p.in_reply_to_id IS NULL
                                AND s.channel = p.channel AND s.in_reply_to_id = p.status_id
                                AND s.relation <> 'own_post' AND s.thread_root_id IS NULL""")

    def upgrade_relation(self) -> None:
        self.conn.execute("""UPDATE pulse.statuses SET relation = 'reply'
                              WHERE (channel, status_id) IN (SELECT channel, status_id FROM pulse.statuses
                                                              WHERE relation IN ('other', 'mention')
                                                              ORDER BY random() LIMIT 2)""")

    def change_format_map(self) -> None:
        fmt = self.rng.choice(("qa", "city_question", "wonen"))
        with self.conn.transaction():
            self.conn.execute("DELETE FROM pulse.formats WHERE tag = 'wonen'")
            self.conn.execute("INSERT INTO pulse.formats (tag, format, precedence) VALUES ('wonen', %s, 0)", (fmt,))

    def step(self) -> None:
        ops = [(self.insert_posts, 2), (self.insert_statuses, 6), (self.insert_interactions, 6),
               (self.delete_status, 2), (self.unfavourite, 1), (self.edit_tags, 1),
               (self.place_in_threads, 1), (self.upgrade_relation, 1), (self.change_format_map, 0.2)]
        self.rng.choices([f for f, _ in ops], [w for _, w in ops])[0]()


def stored_activity(conn: psycopg.Connection, view: str) -> dict[tuple, tuple]:
    rows = conn.execute(f"""SELECT channel, bucket, format, replies, mentions, favourites, reblogs, quotes,
                                   follows, active_accounts FROM kpi.{view}""").fetchall()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def check(conn: psycopg.Connection, rng: random.Random) -> None:
    rows = oracle.engagements(conn)
    first: dict[tuple[str, str], datetime] = {}
    for e in rows:
        first[(e.channel, e.account)] = min(first.get((e.channel, e.account), e.at), e.at)
    assert dict(((c, a), t) for c, a, t in conn.execute(
        "SELECT channel, account_key, first_seen_at FROM pulse.account_first_seen").fetchall()) == first
    assert stored_activity(conn, "activity_hourly") == oracle.activity(rows, oracle.hour_of)
    assert stored_activity(conn, "activity_daily") == oracle.activity(rows, lambda at: oracle.day_of(at, TZ))
    for _ in range(4):  # random ranges, edges anywhere (partial hours read the events)
        a = rng.choice(STARTS) + timedelta(minutes=rng.randrange(-600, 5000))
        b = a + timedelta(minutes=rng.randrange(1, 4000))
        ch = rng.choice((None, *CHANNELS))
        fmt = rng.choice((None, "qa", "other", "innovator_spotlight"))
        got = conn.execute("SELECT distinct_accounts, returning_accounts FROM kpi.summary(%s, %s, %s, %s)",
                           (a, b, ch, fmt)).fetchone()
        assert got == oracle.accounts(rows, a, b, ch, fmt), (a, b, ch, fmt)
        daily = conn.execute("""SELECT bucket, distinct_accounts, returning_accounts
                                  FROM kpi.accounts_daily(%s, %s, %s, %s)""", (a, b, ch, fmt)).fetchall()
        assert daily == [(lo, *oracle.accounts(rows, lo, hi, ch, fmt)) for lo, hi in oracle.local_days(a, b, TZ)]
        period = rng.choice(("hour", "day", "week"))
        got_activity = {(r[0], r[1], r[2]): tuple(r[3:]) for r in conn.execute(
            "SELECT * FROM kpi.activity(%s, %s, %s, %s)", (a, b, period, ch)).fetchall()}
        inside = [e for e in rows if a <= e.at < b and (ch is None or e.channel == ch)]
        if period == "hour":
            want = oracle.activity(inside, oracle.hour_of)
        elif period == "day":
            want = oracle.activity(inside, lambda at: oracle.day_of(at, TZ))
        else:
            def week_of(at: datetime) -> datetime:
                day = oracle.day_of(at, TZ)
                monday = day.replace(tzinfo=None) - timedelta(days=day.weekday())
                return monday.replace(tzinfo=TZ)
            want = oracle.activity(inside, week_of)
        assert got_activity == want, (a, b, period, ch)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_rollup_backed_kpi_equals_the_raw_events_after_random_changes(database_url: str, seed: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, seed)
        for i in range(1, 241):
            world.step()
            if i % 60 == 0:
                check(conn, world.rng)


def test_a_rebuild_from_the_events_gives_the_rollups_the_triggers_kept(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 7)
        for _ in range(150):
            world.step()
        kept = {v: stored_activity(conn, v) for v in ("activity_hourly", "activity_daily")}
        conn.execute("SELECT pulse.rollup_rebuild()")
        assert {v: stored_activity(conn, v) for v in kept} == kept


def test_a_rebuild_keeps_engagements_at_the_same_instant_apart(database_url: str) -> None:
    """Two channels' replies at one instant, about different posts: each stays with its own post, also
    when the rebuild's sorts spill to disk (where equal keys come out in an order that depends on the
    width of what is sorted)."""
    at = datetime(2026, 9, 28, 13, tzinfo=UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET work_mem = '64kB'")
        conn.execute("""INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, tags,
                                                    thread_root_id, source)
                        VALUES ('ams', 'p1', %(at)s, 'own_post', 'city', '{qena}', 'p1', 'rest'),
                               ('zuid', 'p2', %(at)s, 'own_post', 'city', '{wonen}', 'p2', 'rest')""", {"at": at})
        conn.execute("""INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                                                    in_reply_to_id, thread_root_id, source)
                        SELECT c.ch, c.ch || '-r' || i, %(at)s, 'reply', 'acct' || i, c.post, c.post, 'stream'
                          FROM generate_series(1, 3000) i, (VALUES ('ams', 'p1'), ('zuid', 'p2')) c(ch, post)""",
                     {"at": at})
        kept = stored_activity(conn, "activity_daily")
        conn.execute("SELECT pulse.rollup_rebuild()")
        assert stored_activity(conn, "activity_daily") == kept
        assert kept[("ams", oracle.day_of(at, TZ), "qa")][0] == 3000
