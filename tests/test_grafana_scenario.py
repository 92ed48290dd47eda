"""Realistic data for the board and alert tests, written through the real sink and store.

`Scenario` builds normalised events the way the ingester would produce them (snowflake-like ids,
pseudonymous keys, deep replies that do not mention the city, the city's answers) and writes them
with `ingester.sink.Sink`, so thread resolution is the production one. Heartbeats and the channel
row go through `ingester.store`. The tests in this file check the scenario itself.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import psycopg

from ingester import store
from ingester.events import (
    Account,
    CountsSnapshot,
    DeadLetter,
    InteractionEvent,
    InteractionKind,
    Relation,
    Source,
    StatusEvent,
)
from ingester.sink import Sink

CITY_ID = "109302"
TIME_BUCKET_SHIM = """
CREATE OR REPLACE FUNCTION public.time_bucket(bucket_width interval, ts timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_bin(bucket_width, ts, timestamptz '2000-01-03 00:00:00+00') $$
"""


def key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def resident(n: int) -> Account:
    return Account(key=key(f"https://example.social/users/r{n}"), acct=f"resident{n}@example.social",
                   url=f"https://example.social/@resident{n}")


CITY = Account(key=key("https://social.amsterdam.nl/users/amsterdam"), acct="amsterdam",
               url="https://social.amsterdam.nl/@amsterdam")


@dataclass
class Scenario:
    now: datetime
    channel: str = "amsterdam"
    events: list[Any] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _id(self, at: datetime) -> str:
        # Mastodon ids are snowflakes: milliseconds << 16 plus a sequence
        return str((int(at.timestamp() * 1000) << 16) + next(self._seq))

    def post(self, ago: timedelta, tags: tuple[str, ...] = (), answer_to: str | None = None,
             answer_to_account: str | None = None) -> str:
        at = self.now - ago
        sid = self._id(at)
        self.events.append(StatusEvent(
            channel=self.channel, status_id=sid, created_at=at, relation=Relation.OWN_POST, account=CITY,
            in_reply_to_id=answer_to, in_reply_to_account_id=answer_to_account,
            url=f"https://social.amsterdam.nl/@amsterdam/{sid}", tags=tags,
            content=f"<p>{'Antwoord' if answer_to else 'Vraag'} {sid}</p>", source=Source.STREAM))
        return sid

    def reply(self, ago: timedelta, to: str, by: int, *, to_city: bool = True, mentions: bool = False) -> str:
        at = self.now - ago
        sid = self._id(at)
        self.events.append(StatusEvent(
            channel=self.channel, status_id=sid, created_at=at,
            relation=Relation.REPLY if to_city else Relation.OTHER, account=resident(by),
            in_reply_to_id=to, in_reply_to_account_id=CITY_ID if to_city else "77",
            mentions_channel=mentions or to_city, url=f"https://example.social/@resident{by}/{sid}",
            content=f"<p>Reactie van bewoner {by}</p>", source=Source.STREAM))
        return sid

    def mention(self, ago: timedelta, by: int) -> str:
        at = self.now - ago
        sid = self._id(at)
        self.events.append(StatusEvent(
            channel=self.channel, status_id=sid, created_at=at, relation=Relation.MENTION,
            account=resident(by), mentions_channel=True, content="<p>@amsterdam hoi</p>", source=Source.REST))
        return sid

    def interact(self, ago: timedelta, kind: InteractionKind, status_id: str | None, by: int) -> None:
        at = self.now - ago
        self.events.append(InteractionEvent(
            channel=self.channel, notification_id=self._id(at), occurred_at=at, kind=kind,
            status_id=status_id, account=resident(by), source=Source.STREAM))

    def snapshot(self, ago: timedelta, post_id: str, replies: int, favourites: int, reblogs: int) -> None:
        self.events.append(CountsSnapshot(channel=self.channel, post_id=post_id, observed_at=self.now - ago,
                                          replies=replies, favourites=favourites, reblogs=reblogs, quotes=0))

    def dead_letter(self, ago: timedelta, reason: str) -> None:
        self.events.append(DeadLetter(channel=self.channel, received_at=self.now - ago, source=Source.STREAM,
                                      reason=reason, payload='{"event":"update","payload":"{broken"}'))

    def heartbeat(self, ago: timedelta, *, connected: bool = True, lag: float = 0.7, events: int = 0,
                  runs: int = 0, pages: int = 0, reconnects: int = 0, last_event_ago: timedelta | None = None) -> None:
        at = self.now - ago
        self.heartbeats.append({
            "channel": self.channel, "at": at, "stream_connected": connected,
            "last_frame_at": at - timedelta(seconds=2),
            "last_event_at": self.now - (last_event_ago if last_event_ago is not None else ago),
            "lag_seconds": lag, "events_total": events, "reconnects_total": reconnects,
            "catchup_runs_total": runs, "catchup_pages_total": pages, "dead_letters_total": 0,
            "spool_depth": 0, "ratelimit_remaining": 280})

    async def write(self, dsn: str) -> None:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            await store.upsert_channel(pool, self.channel, CITY_ID, CITY.key, CITY.acct,
                                       "https://social.amsterdam.nl")
            await Sink(pool).write(self.events)
            for row in self.heartbeats:
                await store.write_heartbeat(pool, row)
        finally:
            await pool.close()


def install_time_bucket_shim(dsn: str) -> None:
    """Plain PostgreSQL has no time_bucket(); Grafana (timescaledb: true) emits it. Same bucketing:
    TimescaleDB's default origin for timestamptz buckets is Monday 2000-01-03 00:00 UTC."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT pulse.tier()").fetchone()[0] == "postgres":
            conn.execute(TIME_BUCKET_SHIM)


def baseline_week(s: Scenario, per_day: int = 30, days: range = range(1, 8)) -> None:
    """One post a day for a week, each with replies, favourites and boosts in the hours after it."""
    for d in days:
        ago = timedelta(days=d, hours=3)
        tags = ("InnovatorSpotlight",) if d == 2 else ()
        pid = s.post(ago, tags)
        for i in range(per_day):
            at = ago - timedelta(minutes=5 + 7 * i)
            if i % 5 == 0:
                s.reply(at, pid, by=100 + i)
            elif i % 5 == 4:
                s.interact(at, InteractionKind.REBLOG, pid, by=200 + i)
            else:
                s.interact(at, InteractionKind.FAVOURITE, pid, by=300 + i + d)


def live_session(s: Scenario, *, started: timedelta = timedelta(minutes=70),
                 last_reply: timedelta = timedelta(minutes=1), replies: int = 40) -> str:
    """A Q&A post with a busy thread: direct and deep replies, the city's answers, likes, boosts."""
    qa = s.post(started, ("QenA", "Amsterdam"))
    span = started - last_reply - timedelta(minutes=2)
    previous: list[str] = []
    for i in range(replies):
        ago = started - timedelta(minutes=2) - span * (i / max(replies - 1, 1))
        if i % 4 == 3 and previous:  # a deep reply that does not mention the city
            previous.append(s.reply(ago, previous[-1], by=i % 15, to_city=False))
        else:
            previous.append(s.reply(ago, qa, by=i % 15))
        if i % 8 == 0:  # the city answers some of the direct replies, a minute later
            s.post(ago - timedelta(minutes=1) if ago > timedelta(minutes=1) else ago / 2, (),
                   answer_to=previous[-1], answer_to_account="r")
        s.interact(ago, InteractionKind.FAVOURITE, qa, by=400 + i)
        if i % 3 == 0:
            s.interact(ago, InteractionKind.REBLOG, qa, by=500 + i)
    s.mention(timedelta(minutes=30), by=600)
    s.snapshot(timedelta(minutes=1), qa, replies=replies, favourites=replies, reblogs=replies // 3 + 1)
    return qa


def healthy_ingester(s: Scenario, minutes: int = 20) -> None:
    """A heartbeat every 15 s, with a restart (counters back to zero) half-way."""
    events = runs = pages = 0
    for i in range(minutes * 4, -1, -1):
        if i == minutes * 2:
            events = runs = pages = 0  # process restarted: counters start again
            runs, pages = 1, 3  # and ran a catch-up
        events += 3
        s.heartbeat(timedelta(seconds=15 * i), events=events, runs=runs, pages=pages,
                    connected=i != minutes * 2, last_event_ago=timedelta(seconds=15 * i + 5))


async def live_database(dsn: str, now: datetime | None = None) -> tuple[Scenario, str]:
    s = Scenario(now or datetime.now(UTC))
    baseline_week(s)
    qa = live_session(s)
    healthy_ingester(s)
    s.dead_letter(timedelta(minutes=12), "payload is not valid JSON")
    s.dead_letter(timedelta(minutes=40), "status without account")
    await s.write(dsn)
    entry_route(dsn, s.now)
    install_time_bucket_shim(dsn)
    return s, qa


def entry_route(dsn: str, now: datetime) -> None:
    """A week of the entry route's counters (as `ingester web` flushes them): a QR poster, the keyword."""
    with psycopg.connect(dsn) as conn:
        tz = conn.execute("SELECT pulse.timezone()").fetchone()[0]  # type: ignore[index]
        today = conn.execute("SELECT (%s::timestamptz AT TIME ZONE %s)::date", (now, tz)).fetchone()[0]  # type: ignore[index]
        rows = [(today - timedelta(days=d), source, kind, n + d)
                for d in range(7)
                for source, kind, n in (("bibliotheek-oost", "page_view", 30), ("bibliotheek-oost", "signup_click", 4),
                                        ("direct", "page_view", 12), ("direct", "reply_click", 1),
                                        ("sms", "keyword_sms", 3), ("whatsapp", "keyword_whatsapp", 2))]
        conn.cursor().executemany("INSERT INTO pulse.entry_counts (day, source, kind, count) VALUES (%s, %s, %s, %s)",
                                  rows)


# -- the scenario itself ----------------------------------------------------------------------


async def test_deep_replies_in_the_scenario_resolve_to_the_qa_thread(database_url: str) -> None:
    s, qa = await live_database(database_url)
    with psycopg.connect(database_url) as conn:
        in_thread = conn.execute(
            "SELECT count(*) FROM pulse.statuses WHERE thread_root_id = %s AND relation <> 'own_post'",
            (qa,)).fetchone()[0]
    assert in_thread == 40


async def test_writing_the_scenario_twice_stores_every_event_once(database_url: str) -> None:
    s, _ = await live_database(database_url)
    count = "SELECT (SELECT count(*) FROM pulse.statuses), (SELECT count(*) FROM pulse.interactions)"
    with psycopg.connect(database_url) as conn:
        before = conn.execute(count).fetchone()
    await s.write(database_url)
    with psycopg.connect(database_url) as conn:
        assert conn.execute(count).fetchone() == before
