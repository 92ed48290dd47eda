"""When to re-read a channel post's thread (`GET /api/v1/statuses/:id/context`) and its counters.

Why poll at all: a reply deep in a thread that does not mention the channel never produces a notification,
and un-favourites/un-boosts produce no event; only re-reading the thread and the post's counters finds them.
The schedule follows activity: often while a post is young or busy, then backing off to daily until 30 days.
Pure: the caller passes the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def poll_interval(age: timedelta, busy: bool) -> timedelta | None:
    """How long to wait between two polls of a post of this age; None = stop polling it."""
    if age >= 30 * DAY:
        return None
    if busy or age < 6 * HOUR:
        return 2 * MINUTE
    if age < DAY:
        return 15 * MINUTE
    if age < 7 * DAY:
        return 2 * HOUR
    return DAY


@dataclass
class _PostState:
    posted_at: datetime
    last_polled: datetime | None = None
    last_new_reply: datetime | None = None


@dataclass
class ThreadSchedule:
    """Which live posts are due for a poll now. A post counts as busy for an hour after new replies."""

    busy_for: timedelta = HOUR
    posts: dict[str, _PostState] = field(default_factory=dict)

    def track(self, post_id: str, posted_at: datetime) -> None:
        self.posts.setdefault(post_id, _PostState(posted_at))

    def forget(self, post_id: str) -> None:
        self.posts.pop(post_id, None)

    def oldest(self) -> datetime | None:
        """When the oldest post still tracked was posted (None: nothing tracked)."""
        return min((st.posted_at for st in self.posts.values()), default=None)

    def due(self, now: datetime, *, young_within: timedelta | None = None) -> list[str]:
        """Posts whose interval has passed, youngest first. `young_within` forces posts younger than it
        (used after a stream gap, when anything may have happened in their threads)."""
        out: list[tuple[datetime, str]] = []
        for post_id, st in list(self.posts.items()):
            age = now - st.posted_at
            busy = st.last_new_reply is not None and now - st.last_new_reply < self.busy_for
            interval = poll_interval(age, busy)
            if interval is None:
                self.forget(post_id)
                continue
            forced = young_within is not None and age < young_within
            if forced or st.last_polled is None or now - st.last_polled >= interval:
                out.append((st.posted_at, post_id))
        return [p for _, p in sorted(out, reverse=True)]

    def polled(self, post_id: str, now: datetime, *, new_replies: int) -> None:
        st = self.posts.get(post_id)
        if st is None:
            return
        st.last_polled = now
        if new_replies:
            st.last_new_reply = now
