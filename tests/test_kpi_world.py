"""A hand-built world of two channels for the KPI tests, written with plain SQL INSERTs in the shape
the sink leaves behind (thread_root_id set on every status inside a channel thread, deletes = row
gone plus a tombstone). No tests here: the other test_kpi_* modules import `build_world`.

Times are UTC; the comments give Europe/Amsterdam local time where a day boundary matters.
DST: local 2026-03-29 is 23 h long and 2026-10-25 is 25 h long (boundaries: DAY_* below).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg

UTC = timezone.utc

# Local-day boundaries in Europe/Amsterdam, as UTC instants.
DAY_0328 = datetime(2026, 3, 27, 23, tzinfo=UTC)  # CET  (+01)
DAY_0329 = datetime(2026, 3, 28, 23, tzinfo=UTC)  # CET  -> CEST at 01:00 UTC: 23 h day
DAY_0330 = datetime(2026, 3, 29, 22, tzinfo=UTC)  # CEST (+02)
DAY_1025 = datetime(2026, 10, 24, 22, tzinfo=UTC)  # CEST -> CET at 01:00 UTC: 25 h day
DAY_1026 = datetime(2026, 10, 25, 23, tzinfo=UTC)  # CET


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Engagement:
    """One engagement as the KPI definitions see it: the oracle for distinct/returning accounts."""

    channel: str
    at: datetime
    account: str
    root: str | None  # top-level post it is about (None: follow, mention outside threads)
    source_id: str


@dataclass
class World:
    conn: psycopg.Connection
    engagements: list[Engagement] = field(default_factory=list)
    roots: dict[str, str] = field(default_factory=dict)  # channel status id -> its top-level post
    channel_keys: dict[str, str] = field(default_factory=dict)

    def channel(self, name: str, account_id: str) -> None:
        key = f"k_{name}"
        self.channel_keys[name] = key
        self.conn.execute(
            "INSERT INTO pulse.channels (channel, account_id, account_key, acct, base_url)"
            " VALUES (%s, %s, %s, %s, 'https://social.example')",
            (name, account_id, key, f"{name}@social.example"),
        )

    def account(self, key: str) -> None:
        self.conn.execute(
            "INSERT INTO pulse.accounts (account_key, acct, url) VALUES (%s, %s, %s)",
            (key, f"{key}@social.example", f"https://social.example/@{key}"),
        )

    def status(
        self,
        channel: str,
        status_id: str,
        at: datetime,
        relation: str,
        account: str,
        *,
        reply_to: str | None = None,
        root: str | None = None,
        quoted: str | None = None,
        mentions: bool = False,
        tags: tuple[str, ...] = (),
        content: str = "<p>tekst</p>",
    ) -> None:
        own = relation == "own_post"
        key = self.channel_keys[channel] if own else account
        self.conn.execute(
            """INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                 in_reply_to_id, quoted_id, mentions_channel, thread_root_id, url, tags, content,
                 source)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'stream')""",
            (channel, status_id, at, relation, key, reply_to, quoted, mentions, root,
             f"https://social.example/@{key}/{status_id}", list(tags), content),
        )
        if own:
            self.roots[status_id] = root or status_id
        elif root is not None or relation == "reply":
            self.engagements.append(Engagement(channel, at, account, root or self.roots[reply_to or ""], status_id))
        elif relation == "quote":
            self.engagements.append(Engagement(channel, at, account, self.roots.get(quoted or ""), status_id))
        elif relation == "mention":
            self.engagements.append(Engagement(channel, at, account, None, status_id))

    def delete(self, channel: str, status_id: str, at: datetime) -> None:
        self.conn.execute(
            "DELETE FROM pulse.statuses WHERE channel = %s AND status_id = %s", (channel, status_id)
        )
        self.conn.execute(
            "INSERT INTO pulse.tombstones (channel, status_id, deleted_at, source) VALUES (%s, %s, %s, 'stream')",
            (channel, status_id, at),
        )
        self.engagements = [
            e for e in self.engagements if not (e.channel == channel and e.source_id == status_id)
        ]

    def interaction(
        self, channel: str, notification_id: str, at: datetime, kind: str, account: str,
        status_id: str | None = None,
    ) -> None:
        self.conn.execute(
            """INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                 account_key, source) VALUES (%s, %s, %s, %s, %s, %s, 'stream')""",
            (channel, notification_id, at, kind, status_id, account),
        )
        root = self.roots.get(status_id) if status_id else None
        self.engagements.append(Engagement(channel, at, account, root, notification_id))

    def snapshot(self, channel: str, post_id: str, at: datetime, *, replies: int, favourites: int,
                 reblogs: int, quotes: int) -> None:
        self.conn.execute(
            """INSERT INTO pulse.post_snapshots (channel, post_id, observed_at, replies, favourites,
                 reblogs, quotes) VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (channel, post_id, at, replies, favourites, reblogs, quotes),
        )


def build_world(database_url: str) -> World:
    """Insert the scenario; on full TimescaleDB also materialise the continuous aggregates so the
    tests read through them (a no-op elsewhere)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        w = World(conn)
        w.channel("ams", "1")
        w.channel("zuid", "2")
        for key in "abcdef":
            w.account(key)

        # --- ams P1: #QenA (qa), 2026-03-28 -------------------------------------------------------
        w.status("ams", "1001", t(3, 28, 10), "own_post", "", tags=("qena", "wonen"))
        w.interaction("ams", "n1", t(3, 28, 10, 30), "favourite", "a", "1001")
        w.interaction("ams", "n2", t(3, 28, 10, 40), "favourite", "b", "1001")
        w.status("ams", "1101", t(3, 28, 11), "reply", "a", reply_to="1001", root="1001", mentions=True)
        w.interaction("ams", "n3", t(3, 28, 11, 10), "favourite", "c", "1001")
        # two levels deeper, never mentioning the city: known only from thread polling
        w.status("ams", "1102", t(3, 28, 12), "other", "b", reply_to="1101", root="1001")
        w.status("ams", "1201", t(3, 28, 12, 30), "own_post", "", reply_to="1101", root="1001")  # answer, 1.5 h
        w.status("ams", "1103", t(3, 28, 13), "other", "c", reply_to="1102", root="1001")
        w.interaction("ams", "n6", t(3, 28, 13, 30), "favourite", "e", "1201")  # likes the city's answer
        w.status("ams", "1105", t(3, 28, 14), "reply", "a", reply_to="1201", root="1001")
        w.interaction("ams", "n5", t(3, 28, 15), "reblog", "e", "1001")
        w.status("ams", "1106", t(3, 28, 16), "reply", "d", reply_to="1001", root="1001")
        w.delete("ams", "1106", t(3, 28, 17))  # deleted reply: gone from every count
        w.interaction("ams", "n4", t(3, 29, 8), "favourite", "d", "1001")
        w.status("ams", "1104", t(3, 29, 9), "mention", "b", reply_to="1103", root="1001", mentions=True)
        # REST re-read: one favourite was taken back (4 notifications, 3 now)
        w.snapshot("ams", "1001", t(3, 30, 0), replies=2, favourites=3, reblogs=1, quotes=0)
        w.status("ams", "1301", t(3, 30, 10), "quote", "f", quoted="1001")  # after the snapshot
        w.status("ams", "1202", t(4, 1, 14), "own_post", "", reply_to="1105", root="1001")  # answer, 96 h
        w.status("ams", "1401", t(3, 28, 18), "other", "c")  # not in any thread: counts nowhere

        # --- ams P2: #InnovatorSpotlight + #AMA -> innovator_spotlight; local 2026-03-29 00:30 --------
        w.status("ams", "1002", t(3, 28, 23, 30), "own_post", "", tags=("InnovatorSpotlight", "ama"))
        w.interaction("ams", "n7", t(3, 28, 23, 40), "favourite", "f", "1002")  # local 03-29 00:40
        w.status("ams", "1111", t(3, 29, 21, 30), "reply", "e", reply_to="1002", root="1002")  # 23:30 CEST
        w.status("ams", "1112", t(3, 29, 22, 30), "reply", "a", reply_to="1002", root="1002")  # 03-30 00:30

        # --- ams P3: #VraagVanDeGemeente -> city_question; local 2026-10-25 00:10 (25 h day) ----------
        w.status("ams", "1003", t(10, 24, 22, 10), "own_post", "", tags=("vraagvandegemeente",))
        w.status("ams", "1122", t(10, 24, 22, 30), "reply", "c", reply_to="1003", root="1003")  # 00:30 CEST
        w.status("ams", "1203", t(10, 25, 0, 30), "own_post", "", reply_to="1122", root="1003")  # 2 h
        w.interaction("ams", "n8", t(10, 25, 10), "follow", "d")
        w.status("ams", "1131", t(10, 25, 11), "mention", "f")  # outside any thread
        w.status("ams", "1121", t(10, 25, 22, 30), "reply", "b", reply_to="1003", root="1003")  # 23:30 CET

        # --- ams P4: no tags -> other, no engagement ------------------------------------------------
        w.status("ams", "1004", t(10, 25, 12), "own_post", "")

        # --- zuid Z1: #ama -> qa ------------------------------------------------------------------
        w.status("zuid", "2001", t(3, 28, 12), "own_post", "", tags=("ama",))
        w.status("zuid", "2101", t(3, 28, 12, 30), "reply", "a", reply_to="2001", root="2001")
        w.interaction("zuid", "z1", t(3, 28, 12, 40), "favourite", "b", "2001")

        conn.execute("CALL pulse.refresh_aggregates()")
        return w
