"""The KPI definitions computed in Python from the raw event rows: the oracle the rollup-backed kpi
views and functions are compared with (tests/test_kpi_rollups_random.py).

Written from the contract (docs/sql.md, the COMMENTs of the kpi objects), not from the SQL: which
rows are engagements, which post each is about, the format of that post, and the local-day and
UTC-hour buckets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

KINDS = ("replies", "mentions", "favourites", "reblogs", "quotes", "follows")


@dataclass(frozen=True)
class Engagement:
    channel: str
    at: datetime
    kind: str  # one of KINDS
    account: str
    format: str | None


def engagements(conn: psycopg.Connection) -> list[Engagement]:
    """Every engagement stored now, with the format of the post it is about."""
    fmap = conn.execute("SELECT tag, format, precedence FROM pulse.formats").fetchall()
    statuses = conn.execute(
        """SELECT channel, status_id, created_at, relation, account_key, in_reply_to_id, quoted_id,
                  thread_root_id, tags FROM pulse.statuses""").fetchall()
    own = {(s[0], s[1]): s for s in statuses if s[3] == "own_post"}

    def post_format(tags: list[str]) -> str:
        found = sorted((p, f) for tag, f, p in fmap if tag in {t.lstrip("#").lower() for t in tags})
        return found[0][1] if found else "other"

    def format_of(channel: str, ref: str | None) -> str | None:
        s = own.get((channel, ref)) if ref is not None else None
        if s is None:
            return None
        root = own.get((channel, s[7] or s[1]))
        if root is None or root[5] is not None:  # the root must be a top-level channel post
            return None
        return post_format(root[8])

    out: list[Engagement] = []
    for ch, _sid, at, rel, acct, reply_to, quoted, root, _tags in statuses:
        if rel == "own_post" or not (root is not None or rel in ("reply", "quote", "mention")):
            continue
        if root is not None or rel == "reply":
            kind, ref = "replies", root if root is not None else reply_to
        elif rel == "quote":
            kind, ref = "quotes", quoted
        else:
            kind, ref = "mentions", None
        out.append(Engagement(ch, at, kind, acct, format_of(ch, ref)))
    for ch, at, kind, acct, ref in conn.execute(
            "SELECT channel, occurred_at, kind, account_key, status_id FROM pulse.interactions").fetchall():
        out.append(Engagement(ch, at, kind + "s", acct, format_of(ch, ref)))
    return out


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def day_of(at: datetime, tz: ZoneInfo) -> datetime:
    local = at.astimezone(tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def activity(rows: list[Engagement], bucket_of) -> dict[tuple, tuple]:  # type: ignore[no-untyped-def]
    """(channel, bucket, format) -> (replies, mentions, favourites, reblogs, quotes, follows, accounts)."""
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(KINDS))
    accounts: dict[tuple, set[str]] = defaultdict(set)
    for e in rows:
        key = (e.channel, bucket_of(e.at), e.format)
        counts[key][KINDS.index(e.kind)] += 1
        accounts[key].add(e.account)
    return {k: (*v, len(accounts[k])) for k, v in counts.items()}


def accounts(rows: list[Engagement], lo: datetime, hi: datetime, channel: str | None,
             fmt: str | None) -> tuple[int, int]:
    """(distinct, returning) accounts in [lo, hi), as kpi.summary defines them."""
    scope = [e for e in rows if (channel is None or e.channel == channel) and (fmt is None or e.format == fmt)]
    active = {e.account for e in scope if lo <= e.at < hi}
    before = {e.account for e in scope if e.at < lo}
    return len(active), len(active & before)


def local_days(lo: datetime, hi: datetime, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The local days overlapping [lo, hi), each as (start, end)."""
    day = day_of(lo, tz)
    out = []
    while day < hi:
        nxt = (day.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
        out.append((day, nxt))
        day = nxt
    return out
