"""The current conversations, read from the ingested store and shaped for the page.

What the page may show is decided here, from what the store holds: only statuses with visibility
`public`; a deleted status is gone from the store (the sink deletes it), so it is gone from here; an
edit replaced the stored text; a reply whose text retention or an account's removal purged
(`content` NULL) is not shown. Text is sanitised (`clean_html`) before it reaches a template.

`CachedConversations` reads the store at most once per period whatever the traffic: requests are
answered from the last snapshot while one background read replaces it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from ingester.web.sanitize import clean_html

log = logging.getLogger("ingester.web.conversations")

TOP_POSTS = """
SELECT DISTINCT ON (f.format) s.status_id, s.created_at, s.content, s.url, s.edited_at, f.format
  FROM pulse.statuses s
 CROSS JOIN LATERAL (SELECT pulse.post_format(s.tags) AS format) f
 WHERE s.channel = $1 AND s.relation = 'own_post' AND s.in_reply_to_id IS NULL
   AND s.visibility = 'public' AND s.content IS NOT NULL AND f.format = ANY($2::text[])
 ORDER BY f.format, s.created_at DESC"""

# Everything under the chosen roots; thread order is built in Python (depth first, oldest first).
THREADS = """
SELECT s.status_id, s.thread_root_id, s.in_reply_to_id, s.created_at, s.content, s.visibility,
       s.edited_at, s.relation, a.acct
  FROM pulse.statuses s
  LEFT JOIN pulse.accounts a ON a.account_key = s.account_key
 WHERE s.channel = $1 AND s.thread_root_id = ANY($2::text[]) AND s.status_id <> s.thread_root_id
 ORDER BY s.created_at, s.status_id
 LIMIT 20000"""

CHANNEL = "SELECT acct, base_url FROM pulse.channels WHERE channel = $1"


@dataclass(frozen=True)
class Reply:
    status_id: str
    author: str | None  # the handle; None once the account is gone
    by_channel: bool
    html: str
    created_at: datetime
    edited: bool
    depth: int  # 1 = answers the post itself


@dataclass(frozen=True)
class Conversation:
    post_id: str
    format: str
    live: bool
    html: str
    created_at: datetime
    edited: bool
    url: str | None
    reply_count: int
    replies: tuple[Reply, ...]


@dataclass(frozen=True)
class Snapshot:
    conversations: tuple[Conversation, ...] = ()
    channel_acct: str | None = None
    version: int = 0
    ok: bool = True  # False: the store could not be read (the page says nothing is available)

    def post(self, post_id: str | None) -> Conversation | None:
        """The conversation with this id, or the first (live) one when no id is given."""
        for c in self.conversations:
            if post_id is None or c.post_id == post_id:
                return c
        return None


def thread_order(root_id: str, rows: list[dict[str, Any]], limit: int) -> tuple[int, list[Reply]]:
    """(public reply count, the first `limit` shown replies in thread order). A non-public status
    hides its whole subtree (its answers would read out of context); a purged text is skipped."""
    children: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        children.setdefault(r["in_reply_to_id"], []).append(r)
    count = sum(1 for r in rows if r["visibility"] == "public")
    shown: list[Reply] = []
    stack = [(c, 1) for c in reversed(children.get(root_id, []))]
    while stack and len(shown) < limit:
        row, depth = stack.pop()
        if row["visibility"] != "public":
            continue
        if row["content"] is not None:
            shown.append(Reply(status_id=row["status_id"], author=row["acct"],
                               by_channel=row["relation"] == "own_post", html=clean_html(row["content"]),
                               created_at=row["created_at"], edited=row["edited_at"] is not None,
                               depth=min(depth, 3)))
        stack.extend((c, depth + 1) for c in reversed(children.get(row["status_id"], [])))
    return count, shown


class StoreConversations:
    """Reads the snapshot from PostgreSQL: three short queries on indexed columns."""

    def __init__(self, pool: asyncpg.Pool, channel: str, formats: tuple[str, ...], live_hours: float,
                 replies: int, clock: Callable[[], datetime] | None = None) -> None:
        self.pool, self.channel, self.formats = pool, channel, formats
        self.live = timedelta(hours=live_hours)
        self.replies = replies
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._version = 0

    async def load(self) -> Snapshot:
        async with self.pool.acquire() as conn:
            tops = await conn.fetch(TOP_POSTS, self.channel, list(self.formats))
            ids = [t["status_id"] for t in tops]
            rows = await conn.fetch(THREADS, self.channel, ids) if ids else []
            ch = await conn.fetchrow(CHANNEL, self.channel)
        by_root: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_root.setdefault(r["thread_root_id"], []).append(dict(r))
        now = self.clock()
        out = []
        for t in tops:
            count, shown = thread_order(t["status_id"], by_root.get(t["status_id"], []), self.replies)
            live = t["format"] == self.formats[0] and now - t["created_at"] <= self.live
            out.append(Conversation(post_id=t["status_id"], format=t["format"], live=live,
                                    html=clean_html(t["content"]), created_at=t["created_at"],
                                    edited=t["edited_at"] is not None, url=t["url"], reply_count=count,
                                    replies=tuple(shown)))
        # the live one on top, then the newest of each format, newest first
        out.sort(key=lambda c: (not c.live, -c.created_at.timestamp()))
        self._version += 1
        return Snapshot(conversations=tuple(out), channel_acct=ch["acct"] if ch else None, version=self._version)


@dataclass
class CachedConversations:
    """At most one store read per `ttl` seconds. An expired snapshot is still served while one background
    read replaces it (so a request never waits for the database once the first read is done); a failed
    read keeps the last good snapshot and is retried after another `ttl`."""

    load: Callable[[], Awaitable[Snapshot]]
    ttl: float = 5.0
    clock: Callable[[], float] = time.monotonic
    reads: int = 0
    _snapshot: Snapshot | None = None
    _loaded_at: float = float("-inf")
    _task: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> Snapshot:
        if self._snapshot is None:
            async with self._lock:  # the very first read: everyone waits for it once
                if self._snapshot is None:
                    await self._refresh()
            assert self._snapshot is not None
            return self._snapshot
        if self.clock() - self._loaded_at >= self.ttl and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._refresh())
        return self._snapshot

    async def _refresh(self) -> None:
        self.reads += 1
        try:
            snap = await self.load()
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("conversations not readable (%s); serving the last ones", type(exc).__name__)
            snap = self._snapshot or Snapshot(ok=False, version=-1)
        self._snapshot, self._loaded_at = snap, self.clock()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
