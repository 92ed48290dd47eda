"""The stored response times (021_reply_responses.sql, views/26) against their definition, after random
interleavings of what the sink does to a channel's statuses: replies (to the city, deep in a thread,
mentioning it or not, quoting it while replying), the city's answers (also stored before the reply
they answer, and answers to answers), posts that arrive after their replies, deletes of replies and
of answers, late thread placement, relation upgrades and answers moved to another reply.

The definition is the view pulse.addressed_replies (22_threads.sql), which reads pulse.statuses
directly; the hourly counts and kpi.summary's answered share and median are checked against the same
rows aggregated here in Python.
"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

CHANNELS = ("ams", "zuid")
# ending around now, so that the "older than 72 hours" edge cuts through the replies
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=6)
SPAN = timedelta(days=8)


class World:
    """Random statements against pulse.statuses, remembering what exists to refer back to."""

    def __init__(self, conn: psycopg.Connection, seed: int) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        self.next_id = 5000
        self.posts: list[tuple[str, str, datetime]] = []       # stored top-level posts
        self.pending: list[tuple[str, str, datetime]] = []     # posts replied to before they are stored
        self.replies: list[tuple[str, str, datetime]] = []     # residents' statuses that reply to something
        self.answers: list[tuple[str, str, datetime]] = []     # the city's answers

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def when(self) -> datetime:
        return START + timedelta(seconds=self.rng.randrange(int(SPAN.total_seconds())))

    def insert(self, rows: list[dict]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                                               in_reply_to_id, thread_root_id, mentions_channel, tags, source)
                   VALUES (%(ch)s, %(id)s, %(at)s, %(rel)s, %(acct)s, %(parent)s, %(root)s, %(mentions)s,
                           %(tags)s, 'stream')""", rows)

    def insert_posts(self) -> None:
        rows = []
        for _ in range(self.rng.randint(1, 2)):
            if self.pending and self.rng.random() < 0.6:
                ch, pid, at = self.pending.pop(self.rng.randrange(len(self.pending)))
            else:
                ch, pid, at = self.rng.choice(CHANNELS), self.new_id(), self.when()
            self.posts.append((ch, pid, at))
            rows.append(dict(ch=ch, id=pid, at=at, rel="own_post", acct="city", parent=None, root=None,
                             mentions=False, tags=self.rng.choice((["qena"], ["wonen"], []))))
        self.insert(rows)

    def insert_replies(self) -> None:
        rows = []
        for _ in range(self.rng.randint(1, 12)):
            shape = self.rng.random()
            if shape < 0.45 or not self.replies:      # a direct reply to a post (maybe not stored yet)
                if not self.posts or self.rng.random() < 0.15:
                    post = (self.rng.choice(CHANNELS), self.new_id(), self.when())
                    self.pending.append(post)
                else:
                    post = self.rng.choice(self.posts)
                ch, parent, root = post[0], post[1], self.rng.choice((post[1], None))
                rel = self.rng.choice(("reply", "reply", "quote"))
                base = post[2]
            elif shape < 0.65 and self.answers:       # a reply to one of the city's answers
                ch, parent, base = self.rng.choice(self.answers)
                root, rel = None, self.rng.choice(("reply", "other"))
            else:                                     # deep in a thread, mentioning the city or not
                ch, parent, base = self.rng.choice(self.replies)
                root = self.root_of(ch, parent)
                rel = self.rng.choice(("other", "mention"))
            at = base + timedelta(minutes=self.rng.randrange(1, 4000))
            rid = self.new_id()
            self.replies.append((ch, rid, at))
            rows.append(dict(ch=ch, id=rid, at=at, rel=rel, acct=f"acct{self.rng.randrange(30)}", parent=parent,
                             root=root, mentions=rel == "mention" or self.rng.random() < 0.3, tags=[]))
        self.insert(rows)

    def root_of(self, channel: str, status_id: str) -> str | None:
        row = self.conn.execute("SELECT thread_root_id FROM pulse.statuses WHERE channel = %s AND status_id = %s",
                                (channel, status_id)).fetchone()
        return row[0] if row else None

    def insert_answers(self) -> None:
        rows = []
        for _ in range(self.rng.randint(1, 4)):
            if not self.replies:
                return
            ch, rid, at = self.rng.choice(self.replies)
            # usually within hours; sometimes days later (not in time); rarely stamped before the reply
            delay = self.rng.choice((timedelta(minutes=self.rng.randrange(1, 600)),
                                     timedelta(hours=self.rng.randrange(60, 120)),
                                     -timedelta(minutes=5)))
            aid = self.new_id()
            self.answers.append((ch, aid, at + delay))
            rows.append(dict(ch=ch, id=aid, at=at + delay, rel="own_post", acct="city", parent=rid,
                             root=self.rng.choice((self.root_of(ch, rid), None)), mentions=False, tags=[]))
        self.insert(rows)

    def delete(self) -> None:
        pool = self.replies if self.rng.random() < 0.6 else (self.answers or self.posts)
        if pool:
            ch, sid, _ = pool.pop(self.rng.randrange(len(pool)))
            self.conn.execute("DELETE FROM pulse.statuses WHERE channel = %s AND status_id = %s", (ch, sid))

    def place_in_threads(self) -> None:
        self.conn.execute("""UPDATE pulse.statuses r SET thread_root_id = p.status_id
                               FROM pulse.statuses p
                              WHERE p.channel = r.channel AND p.status_id = r.in_reply_to_id
                                AND p.relation = 'own_post' AND p.in_reply_to_id IS NULL
                                AND r.thread_root_id IS NULL""")

    def upgrade_relation(self) -> None:
        if self.replies:
            ch, sid, _ = self.rng.choice(self.replies)
            self.conn.execute("""UPDATE pulse.statuses SET relation = %s, mentions_channel = NOT mentions_channel
                                  WHERE channel = %s AND status_id = %s""",
                              (self.rng.choice(("reply", "other", "mention")), ch, sid))

    def move_answer(self) -> None:
        if self.answers and self.replies:
            ch, aid, _ = self.rng.choice(self.answers)
            target = self.rng.choice([r for r in self.replies if r[0] == ch] or [(ch, "none", None)])
            self.conn.execute("UPDATE pulse.statuses SET in_reply_to_id = %s WHERE channel = %s AND status_id = %s",
                              (target[1], ch, aid))

    def step(self) -> None:
        ops = [(self.insert_posts, 2), (self.insert_replies, 6), (self.insert_answers, 3), (self.delete, 2),
               (self.place_in_threads, 0.5), (self.upgrade_relation, 1), (self.move_answer, 0.7)]
        self.rng.choices([f for f, _ in ops], [w for _, w in ops])[0]()


def definition(conn: psycopg.Connection) -> set[tuple]:
    return set(conn.execute("SELECT channel, reply_id, replied_at, post_id, answered_at FROM pulse.addressed_replies"))


def stored(conn: psycopg.Connection) -> set[tuple]:
    return set(conn.execute("SELECT channel, reply_id, replied_at, post_id, answered_at FROM pulse.reply_responses"))


def answers_defined(conn: psycopg.Connection) -> set[tuple]:
    return set(conn.execute("SELECT channel, status_id, created_at, root_id FROM pulse.own_statuses WHERE answer"))


def answers_stored(conn: psycopg.Connection) -> set[tuple]:
    return set(conn.execute("SELECT channel, status_id, created_at, post_id FROM pulse.city_answers"))


def bucket(grain: str, at: datetime) -> datetime:
    at = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return at if grain == "1h" else at.replace(hour=0)


def rolled_up(rows: set[tuple], answers: set[tuple]) -> dict[tuple, tuple[int, int, int]]:
    out: dict[tuple, tuple[int, int, int]] = {}
    for grain in ("1h", "1d"):
        for ch, _, replied, post, answered in rows:
            key = (grain, bucket(grain, replied), ch, post or "")
            n, t, a = out.get(key, (0, 0, 0))
            out[key] = (n + 1, t + (answered is not None and answered <= replied + timedelta(hours=72)), a)
        for ch, _, at, post in answers:
            key = (grain, bucket(grain, at), ch, post)
            n, t, a = out.get(key, (0, 0, 0))
            out[key] = (n, t, a + 1)
    return out


def check(conn: psycopg.Connection, rng: random.Random) -> None:
    rows = definition(conn)
    assert stored(conn) == rows
    answers = answers_defined(conn)
    assert answers_stored(conn) == answers
    kept = {(g, b, c, p): (n, t, a) for g, b, c, p, n, t, a in conn.execute(
        """SELECT grain, bucket, channel, post_id, addressed, in_time, answers FROM pulse.rollup_responses
            WHERE (addressed, in_time, answers) <> (0, 0, 0)""")}
    assert kept == rolled_up(rows, answers)
    formats = dict(((c, s), f) for c, s, f in conn.execute("SELECT channel, status_id, format FROM pulse.post_formats"))
    for _ in range(4):   # random ranges with edges anywhere (partial hours read the replies)
        a = START + timedelta(minutes=rng.randrange(-300, 12000))
        b = a + timedelta(minutes=rng.randrange(1, 9000))
        ch = rng.choice((None, *CHANNELS))
        fmt = rng.choice((None, "qa", "other"))
        mine = [r for r in rows if a <= r[2] < b and (ch is None or r[0] == ch)
                and (fmt is None or formats.get((r[0], r[3])) == fmt)]
        with conn.transaction():   # one now() for the "older than 72 hours" edge here and there
            now = conn.execute("SELECT now()").fetchone()[0]
            share, median, city = conn.execute(
                "SELECT answered_share, median_response_seconds, city_replies FROM kpi.summary(%s, %s, %s, %s)",
                (a, b, ch, fmt)).fetchone()
        due = [r for r in mine if r[2] < now - timedelta(hours=72)]
        in_time = [r for r in due if r[4] is not None and r[4] <= r[2] + timedelta(hours=72)]
        answered = [(r[4] - r[2]).total_seconds() for r in mine if r[4] is not None]
        assert (None if share is None else float(share)) == (pytest.approx(len(in_time) / len(due)) if due else None), \
            (a, b, ch, fmt)
        assert median == (pytest.approx(statistics.median(answered)) if answered else None), (a, b, ch, fmt)
        assert city == sum(1 for c, _, at, post in answers if a <= at < b and (ch is None or c == ch)
                           and (fmt is None or formats.get((c, post)) == fmt)), (a, b, ch, fmt)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stored_response_times_equal_their_definition_after_random_changes(database_url: str, seed: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, seed)
        for i in range(1, 201):
            world.step()
            if i % 50 == 0:
                check(conn, world.rng)


def test_changes_inside_one_transaction_end_exact(database_url: str) -> None:
    """Many statements in one transaction (as a sink batch), then checked after commit."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, 11)
        for _ in range(120):
            world.step()
        conn.commit()
        assert stored(conn) == definition(conn)


def test_a_rebuild_gives_the_rows_the_triggers_kept(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 7)
        for _ in range(150):
            world.step()
        kept = stored(conn)
        kept_answers = answers_stored(conn)
        nonzero = "SELECT * FROM pulse.rollup_responses WHERE (addressed, in_time, answers) <> (0, 0, 0)"
        counts = set(conn.execute(nonzero))
        conn.execute("SELECT pulse.responses_rebuild()")
        assert stored(conn) == kept and answers_stored(conn) == kept_answers
        assert set(conn.execute(nonzero)) == counts


def test_truncating_the_statuses_empties_the_response_times(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        world = World(conn, 5)
        for _ in range(60):
            world.step()
        assert stored(conn)
        conn.execute("TRUNCATE pulse.statuses")
        assert stored(conn) == set()
        assert conn.execute("SELECT count(*) FROM pulse.rollup_responses").fetchone()[0] == 0


def test_a_writer_that_defers_to_one_flush_per_transaction_ends_exact(database_url: str) -> None:
    """As the sink writes a batch: pulse.rollup_defer(), its statements, pulse.rollup_flush(), commit."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        world = World(conn, 13)
        for _ in range(12):
            conn.execute("SELECT pulse.rollup_defer()")
            for _ in range(world.rng.randint(1, 20)):
                world.step()
            conn.execute("SELECT pulse.rollup_flush()")
            conn.commit()
            assert stored(conn) == definition(conn)
            assert answers_stored(conn) == answers_defined(conn)
        kept = {(g, b, c, p): (n, t, a) for g, b, c, p, n, t, a in conn.execute(
            """SELECT grain, bucket, channel, post_id, addressed, in_time, answers FROM pulse.rollup_responses
                WHERE (addressed, in_time, answers) <> (0, 0, 0)""")}
        assert kept == rolled_up(definition(conn), answers_defined(conn))
