"""The simulated server's rows (mutable: the world edits them) and its id generators."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime


class Snowflake:
    """Mastodon-style ids: milliseconds since the epoch << 16, plus a sequence.

    Strictly increasing even when two ids fall in the same millisecond, or when a backdated
    scenario hands in an older time than the previous id (then the id is bumped by one), so
    numeric order is always creation order.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self, at: datetime | None = None) -> str:
        ms = int((at.timestamp() if at else time.time()) * 1000)
        self._last = max(self._last + 1, ms << 16)
        return str(self._last)


class Serial:
    """A bigserial, as notification and favourite ids are on real servers ("9" < "10" numerically)."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def next(self) -> str:
        value, self._next = self._next, self._next + 1
        return str(value)


@dataclass
class AccountRow:
    id: str
    username: str
    domain: str | None  # None = local to this server
    display_name: str
    created_at: datetime
    bot: bool = False
    statuses_count: int = 0
    followers_count: int = 0
    following_count: int = 0
    last_status_at: datetime | None = None

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


@dataclass
class StatusRow:
    id: str
    account_id: str
    created_at: datetime
    text: str
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    mention_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # lower-case, without '#'
    quote_id: str | None = None
    language: str = "nl"
    visibility: str = "public"
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    reblog_of_id: str | None = None  # a boost is a status of its own, as on real servers

    @property
    def live(self) -> bool:
        return self.deleted_at is None


@dataclass
class InteractionRow:
    """A favourite or boost (`kind`), with the internal row id that `favourited_by` links use."""

    id: str
    kind: str  # "favourite" | "reblog"
    account_id: str
    status_id: str
    created_at: datetime
    withdrawn_at: datetime | None = None
    reblog_status_id: str | None = None


@dataclass
class NotificationRow:
    id: str
    type: str
    created_at: datetime
    recipient_id: str
    from_account_id: str
    status_id: str | None
    group_key: str
    filtered: bool = False
    removed: bool = False  # withdrawn favourite/boost or deleted status

