"""REST catch-up for one channel: what the stream missed, in order, from the durable cursors.

Recipe (shared/mastodon/PROTOCOL.md §6, §8): after (re)subscribing, page `GET /api/v1/notifications` forward
with `min_id=<cursor>` (gap-free, unlike `since_id`) until a page comes back empty; do the same for the
channel's own statuses and each followed hashtag; re-read young threads (deep replies never notify) and
re-fetch statuses seen around the gap (edits and deletes are not recoverable from notifications).

Each page goes to the batcher as events followed by a `CursorMark`, so the cursor commits in the same
transaction as the rows it covers. A crash anywhere resumes from the last committed page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import asyncpg
import structlog

from ingester import store
from ingester.sink import CursorMark
from ingester.events import (
    CountsSnapshot,
    DeleteEvent,
    EditEvent,
    Event,
    Source,
    StatusEvent,
)
from ingester.normalize import ChannelContext, normalize_notification, normalize_status
from ingester.sources.rest import MastodonRest
from ingester.sources.threads import HOUR, ThreadSchedule

log = structlog.get_logger("ingester.catchup")

Put = Callable[[Event | CursorMark], Awaitable[None]]
NOTIFICATIONS = "notifications"
OWN_STATUSES = "own_statuses"


def _num(status_id: str) -> int:
    try:
        return int(status_id)
    except (TypeError, ValueError):
        return -1


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class CatchUpStats:
    runs: int = 0
    pages: int = 0
    items: int = 0
    context_polls: int = 0
    verified: int = 0
    deletes_found: int = 0
    unchanged: int = 0  # re-read statuses not re-sent: stored, and not edited since the version we hold


class CatchUp:
    """Runs the catch-up steps for one channel; call `run()` after every (re)connect and on a timer."""

    def __init__(
        self,
        rest: MastodonRest,
        ctx: ChannelContext,
        pool: asyncpg.Pool,
        put: Put,
        cursors: dict[str, str],
        *,
        hashtags: tuple[str, ...] = (),
        backfill_since: date | None = None,
        poll_budget_share: float = 0.5,
        verify_limit: int = 500,
        recheck_window: timedelta = timedelta(hours=6),
        recheck_every: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._clock = clock  # injected so tests can move thread polling through its schedule
        self.rest = rest
        self.ctx = ctx
        self.pool = pool
        self._put = put
        self.cursors = cursors  # name -> newest id committed (or queued behind its rows)
        self.hashtags = hashtags
        self.backfill_since = backfill_since
        self.poll_budget_share = poll_budget_share
        self.verify_limit = verify_limit
        self.recheck_window = recheck_window
        self.recheck_every = recheck_every
        self._last_recheck: datetime | None = None
        self.schedule = ThreadSchedule()
        self.stats = CatchUpStats()

    async def run(self, *, gap_since: datetime | None = None) -> None:
        """One full catch-up. `gap_since`: the stream was down from then on (None = periodic reconcile)."""
        self.stats.runs += 1
        await self._notifications()
        await self._own_statuses()
        for tag in self.hashtags:
            await self._tag(tag)
        await self._threads(after_gap=gap_since is not None)
        now = self._clock()
        if gap_since is not None or self._last_recheck is None or now - self._last_recheck >= self.recheck_every:
            await self._recheck_recent(now - self.recheck_window)
            self._last_recheck = now

    # -- pages --------------------------------------------------------------------------------

    async def _emit_page(self, cursor: str, items: list[dict[str, Any]], events: list[Event]) -> None:
        for ev in events:
            await self._put(ev)
        newest = max((str(i.get("id")) for i in items), key=_num)
        if _num(newest) > _num(self.cursors.get(cursor, "")):
            self.cursors[cursor] = newest
            await self._put(CursorMark(self.ctx.channel, cursor, newest))
        self.stats.pages += 1
        self.stats.items += len(items)

    async def _forward(
        self,
        cursor: str,
        fetch: Callable[..., Awaitable[list[dict[str, Any]]]],
        normalize: Callable[[dict[str, Any]], list[Event]],
    ) -> None:
        """Page forward from the cursor with min_id until a page comes back empty."""
        while True:
            page = await fetch(min_id=self.cursors[cursor])
            if not page:
                return
            page.sort(key=lambda i: _num(str(i.get("id"))))  # oldest first, as they happened
            events = [ev for item in page for ev in normalize(item)]
            await self._emit_page(cursor, page, events)

    async def _backfill(
        self,
        cursor: str,
        fetch: Callable[..., Awaitable[list[dict[str, Any]]]],
        normalize: Callable[[dict[str, Any]], list[Event]],
        *,
        deep: bool,
    ) -> None:
        """First start: walk back from the newest item (to PULSE_BACKFILL_SINCE, or everything the server
        returns), then set the cursor to the newest id seen. The cursor is written only when the walk is
        complete, so a crash mid-backfill starts the walk again (rows dedupe on their ids)."""
        newest: str | None = None
        max_id: str | None = None
        pages = 0
        while True:
            page = await fetch(max_id=max_id)
            if not page:
                break
            page.sort(key=lambda i: _num(str(i.get("id"))), reverse=True)
            if newest is None:
                newest = str(page[0].get("id"))
            keep = page
            stop = not deep
            if self.backfill_since is not None:
                since = datetime.combine(self.backfill_since, datetime.min.time(), timezone.utc)
                keep = [i for i in page if (_parse_time(i.get("created_at")) or since) >= since]
                stop = stop or len(keep) < len(page)
            for item in keep:
                for ev in normalize(item):
                    await self._put(ev)
            pages += 1
            self.stats.pages += 1
            self.stats.items += len(keep)
            if pages % 10 == 0:
                log.info("backfill in progress", channel=self.ctx.channel, cursor=cursor, pages=pages)
            if stop:
                break
            max_id = str(page[-1].get("id"))
        if newest is not None:
            self.cursors[cursor] = newest
            await self._put(CursorMark(self.ctx.channel, cursor, newest))
            log.info("backfill done", channel=self.ctx.channel, cursor=cursor, pages=pages)
        else:
            self.cursors[cursor] = "0"

    async def _paged(self, cursor: str, fetch: Any, normalize: Any, *, deep_backfill: bool) -> None:
        if cursor not in self.cursors:
            await self._backfill(cursor, fetch, normalize, deep=deep_backfill)
        await self._forward(cursor, fetch, normalize)

    def _norm_notification(self, item: dict[str, Any]) -> list[Event]:
        return normalize_notification(item, self.ctx, Source.REST, self._clock())

    def _norm_status(self, item: dict[str, Any]) -> list[Event]:
        return _as_edits(normalize_status(item, self.ctx, Source.REST, self._clock()))

    async def _notifications(self) -> None:
        await self._paged(NOTIFICATIONS, self.rest.notifications, self._norm_notification, deep_backfill=True)

    async def _own_statuses(self) -> None:
        async def fetch(**kw: Any) -> list[dict[str, Any]]:
            return await self.rest.account_statuses(self.ctx.account_id, **kw)

        await self._paged(OWN_STATUSES, fetch, self._norm_status, deep_backfill=True)

    async def _tag(self, tag: str) -> None:
        async def fetch(**kw: Any) -> list[dict[str, Any]]:
            return await self.rest.tag_timeline(tag, **kw)

        # Hashtag history is not the channel's; start from now rather than walking it back.
        await self._paged(f"tag:{tag}", fetch, self._norm_status, deep_backfill=False)

    # -- threads and verification ----------------------------------------------------------------

    def _budget_ok(self) -> bool:
        """Thread polling may spend at most `poll_budget_share` of the REST rate budget."""
        return self.rest.rate.share_left() > 1.0 - self.poll_budget_share

    async def _threads(self, *, after_gap: bool) -> None:
        now = self._clock()
        for post_id, posted_at in await store.live_posts(self.pool, self.ctx.channel, now - timedelta(days=30)):
            self.schedule.track(post_id, posted_at)
        for post_id in self.schedule.due(now, young_within=6 * HOUR if after_gap else None):
            if not self._budget_ok():
                log.info("thread polling paused: rate budget share used", channel=self.ctx.channel)
                return
            await self._poll_thread(post_id)

    async def _poll_thread(self, post_id: str) -> None:
        now = self._clock()
        post = await self.rest.status(post_id)
        if post is None:  # 404: the channel deleted it
            await self._put(DeleteEvent(channel=self.ctx.channel, status_id=post_id, observed_at=now, source=Source.CONTEXT))
            self.schedule.forget(post_id)
            return
        context = await self.rest.context(post_id) or {}
        self.stats.context_polls += 1
        known = await store.thread_statuses(self.pool, self.ctx.channel, post_id)
        seen: set[str] = set()
        new = 0
        for item in context.get("descendants") or []:
            sid = str(item.get("id"))
            seen.add(sid)
            new += sid not in known
            if _unchanged(item, known):
                # Most of a thread is unchanged between polls: re-sending it would cost the sink the same
                # work for nothing (a soak hour re-sent 730k edits for 29k real ones).
                self.stats.unchanged += 1
                continue
            for ev in _as_edits(normalize_status(item, self.ctx, Source.CONTEXT, now)):
                await self._put(ev)
        await self._put(
            CountsSnapshot(
                channel=self.ctx.channel,
                post_id=post_id,
                observed_at=now,
                replies=int(post.get("replies_count") or 0),
                favourites=int(post.get("favourites_count") or 0),
                reblogs=int(post.get("reblogs_count") or 0),
                quotes=int(post.get("quotes_count") or 0),
            )
        )
        # Statuses we hold in this thread that the server no longer lists: re-fetch; 404 = deleted.
        for sid in sorted(known.keys() - seen - {post_id}, key=_num)[: self.verify_limit]:
            await self._verify_one(sid)
        self.schedule.polled(post_id, now, new_replies=new)

    async def _recheck_recent(self, since: datetime) -> None:
        """Deletes and edits of mentions and quotes are not streamed reliably (a quote's delete reaches
        nobody; a gap loses everything) and thread polling does not see them. Their notifications do
        vanish with the status and carry its current text, so re-read the recent mention/quote
        notifications: a stored status whose notification is gone is re-fetched (404 = deleted)."""
        present: set[str] = set()
        max_id: str | None = None
        while True:
            page = await self.rest.notifications(max_id=max_id, types=["mention", "quote"])
            if not page:
                break
            page.sort(key=lambda i: _num(str(i.get("id"))))
            edited = [i for i in page if isinstance(i.get("status"), dict) and i["status"].get("edited_at")]
            stored = await store.stored_edits(self.pool, self.ctx.channel, [str(i["status"].get("id")) for i in edited])
            for item in page:
                if isinstance(item.get("status"), dict):
                    present.add(str(item["status"].get("id")))
            for item in edited:
                if _unchanged(item["status"], stored):
                    self.stats.unchanged += 1
                    continue
                for ev in _as_edits(self._norm_notification(item)):
                    await self._put(ev)
            oldest = page[0]
            if (_parse_time(oldest.get("created_at")) or since) < since:
                break
            max_id = str(oldest.get("id"))
        stored = await store.unthreaded_since(self.pool, self.ctx.channel, since)
        for sid in [s for s in stored if s not in present][: self.verify_limit]:
            await self._verify_one(sid)

    async def _verify_one(self, status_id: str) -> None:
        self.stats.verified += 1
        now = self._clock()
        current = await self.rest.status(status_id)
        if current is None:
            self.stats.deletes_found += 1
            await self._put(DeleteEvent(channel=self.ctx.channel, status_id=status_id, observed_at=now, source=Source.REST))
            return
        for ev in _as_edits(normalize_status(current, self.ctx, Source.REST, now)):
            await self._put(ev)


def _unchanged(status: dict[str, Any], stored: dict[str, datetime | None]) -> bool:
    """A re-read status we already hold in this version: stored, and its `edited_at` (if any) is not newer
    than the stored one's. Anything else (new, edited since, or an unreadable edit time) is re-sent."""
    sid = str(status.get("id"))
    if sid not in stored:
        return False
    raw = status.get("edited_at")
    if raw is None:
        return True
    edited = _parse_time(raw)
    have = stored[sid]
    return edited is not None and have is not None and edited <= have


def _as_edits(events: list[Event]) -> list[Event]:
    """A re-fetched status that was edited must replace the stored text. Send the status (stored if we do
    not have it yet: an edit alone never inserts an `other` status, which may be a quiet reply deep in a
    thread) followed by the edit (replaces the text if we do)."""
    out: list[Event] = []
    for ev in events:
        out.append(ev)
        if isinstance(ev, StatusEvent) and ev.edited_at is not None:
            out.append(EditEvent(status=ev))
    return out
