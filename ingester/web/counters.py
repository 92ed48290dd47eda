"""Entry-route counters: how many page views, button clicks and keyword requests per local day and
source. Counts only: nothing about the person (no IP address, user agent, cookie or time finer than
the day) ever reaches this object, so nothing of it can be stored.

`EntryCounters.add(kind, source)` is the whole interface the request handlers (and the keyword
webhooks) use; it is synchronous and O(1), so counting never slows a request down. A background task
calls `flush(pool)` every few seconds, which adds the counts to `pulse.entry_counts` in one statement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from ingester.entrylink import SourceError, check_source

log = logging.getLogger("ingester.web.counters")

KINDS = ("page_view", "signup_click", "reply_click", "keyword_sms", "keyword_whatsapp")
DIRECT = "direct"      # arrived without ?bron= (typed the link, or a link without a code)
UNKNOWN = "onbekend"   # a code we do not know, a malformed one, or one over the daily cap
# Sources the service itself uses; always known, never count against the cap.
RESERVED = (DIRECT, UNKNOWN, "sms", "whatsapp")

FLUSH = """
INSERT INTO pulse.entry_counts AS c (day, source, kind, count)
SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::bigint[])
ON CONFLICT (day, source, kind) DO UPDATE SET count = c.count + excluded.count"""


class SourcePolicy:
    """Which `?bron=` codes are counted under their own name. With a list of known codes only those;
    without one, any well-formed code, but at most `cap` distinct codes per day: a flood of random
    codes ends up as `onbekend` instead of growing the table."""

    def __init__(self, known: tuple[str, ...] = (), cap: int = 200) -> None:
        self.known = frozenset(known)
        self.cap = cap
        self._day: date | None = None
        self._seen: set[str] = set()

    def admit(self, code: str | None, day: date) -> str:
        if code is None or code == "":
            return DIRECT
        code = code.strip().lower()
        if code in RESERVED:
            return code
        try:
            check_source(code)  # only a code a poster could carry (`ingester qr --bron`)
        except SourceError:
            return UNKNOWN
        if self.known:
            return code if code in self.known else UNKNOWN
        if day != self._day:
            self._day, self._seen = day, set()
        if code in self._seen:
            return code
        if len(self._seen) >= self.cap:
            return UNKNOWN
        self._seen.add(code)
        return code

    def seed(self, day: date, codes: list[str]) -> None:
        """Codes already stored for today (after a restart), so the cap holds across restarts."""
        if day != self._day:
            self._day, self._seen = day, set()
        self._seen.update(c for c in codes if c not in RESERVED)


class EntryCounters:
    """In-memory counts per (local day, source, kind), flushed to the database periodically."""

    def __init__(self, timezone: str = "Europe/Amsterdam", policy: SourcePolicy | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._tz = ZoneInfo(timezone)
        self._clock = clock or (lambda: datetime.now(self._tz))
        self.policy = policy or SourcePolicy()
        self._counts: dict[tuple[date, str, str], int] = {}

    def today(self) -> date:
        return self._clock().astimezone(self._tz).date()

    def source(self, code: str | None) -> str:
        """The name a raw `?bron=` value is counted under today (`direct`, `onbekend` or the code)."""
        return self.policy.admit(code, self.today())

    def add(self, kind: str, source: str) -> None:
        """Count one `kind` event for `source` (a raw code is admitted through the policy first)."""
        if kind not in KINDS:
            raise ValueError(f"unknown counter kind {kind!r}")
        day = self.today()
        key = (day, self.policy.admit(source, day), kind)
        self._counts[key] = self._counts.get(key, 0) + 1

    def pending(self) -> dict[tuple[date, str, str], int]:
        return dict(self._counts)

    async def seed(self, pool: asyncpg.Pool) -> None:
        day = self.today()
        rows = await pool.fetch("SELECT DISTINCT source FROM pulse.entry_counts WHERE day = $1", day)
        self.policy.seed(day, [r["source"] for r in rows])

    async def flush(self, pool: asyncpg.Pool) -> int:
        """Add the pending counts to the database; on failure they stay pending for the next flush."""
        taken, self._counts = self._counts, {}
        if not taken:
            return 0
        keys = list(taken)
        try:
            await pool.execute(FLUSH, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                               [taken[k] for k in keys])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            for k, n in taken.items():  # put back: counted later rather than lost
                self._counts[k] = self._counts.get(k, 0) + n
            log.warning("entry counters not written yet (%s); retrying", type(exc).__name__)
            return 0
        return sum(taken.values())
