"""The closed set of normalised events: frozen values that flow from `normalize` to `sink`.

Every event keeps the Mastodon id it came from, which is also its idempotency key:
- statuses (own posts, replies, mentions, quotes) are keyed on the *status* id, so the same reply
  seen on the stream, in a notification page and in a thread context is stored once;
- favourites, boosts and follows have no id of their own: they are keyed on the *notification* id.

`account_key` is the pseudonymous key (hex HMAC-SHA256 of the account URI with PULSE_ACCOUNT_SALT);
the handle travels beside it only to fill `pulse.accounts`, which analysts cannot read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class Source(StrEnum):
    STREAM = "stream"
    REST = "rest"  # notification paging / account statuses / hashtag timeline catch-up
    CONTEXT = "context"  # thread polling (GET /api/v1/statuses/:id/context)


class Relation(StrEnum):
    """How a status relates to the channel, as far as one payload can tell (pure).

    The final engagement kind is derived in SQL once the thread is resolved: a status whose
    `thread_root_id` resolves to one of the channel's posts is a `reply`, whatever it said here.
    """

    OWN_POST = "own_post"  # written by the channel itself (top-level post or an answer)
    REPLY = "reply"  # in_reply_to_account_id is the channel: a direct reply to a channel status
    QUOTE = "quote"  # quotes one of the channel's statuses
    MENTION = "mention"  # mentions the channel, not (yet) known to be inside one of its threads
    OTHER = "other"  # none of the above; kept only while it may turn out to be in a thread


class InteractionKind(StrEnum):
    FAVOURITE = "favourite"
    REBLOG = "reblog"
    FOLLOW = "follow"


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str  # hex HMAC-SHA256 of the account URI
    acct: str  # handle, for the team's live board only
    url: str | None = None


class StatusEvent(BaseModel):
    """A status the channel cares about: its own post, or another account's reply/mention/quote."""

    model_config = ConfigDict(frozen=True)

    type: Literal["status"] = "status"
    channel: str
    status_id: str
    created_at: datetime
    relation: Relation
    account: Account
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    quoted_id: str | None = None
    mentions_channel: bool = False
    url: str | None = None
    tags: tuple[str, ...] = ()
    content: str | None = None
    language: str | None = None
    visibility: str | None = None
    edited_at: datetime | None = None
    source: Source


class InteractionEvent(BaseModel):
    """A favourite, boost or follow, known only from its notification."""

    model_config = ConfigDict(frozen=True)

    type: Literal["interaction"] = "interaction"
    channel: str
    notification_id: str
    occurred_at: datetime
    kind: InteractionKind
    status_id: str | None  # the channel's status; None for follow
    account: Account
    source: Source


class EditEvent(BaseModel):
    """A status was edited (`status.update` frame or `update` notification): replace its text."""

    model_config = ConfigDict(frozen=True)

    type: Literal["edit"] = "edit"
    status: StatusEvent  # the status as it is now, `edited_at` set


class DeleteEvent(BaseModel):
    """A status was deleted (`delete` frame, or a 404 on re-fetch): purge it and its text."""

    model_config = ConfigDict(frozen=True)

    type: Literal["delete"] = "delete"
    channel: str
    status_id: str
    observed_at: datetime
    source: Source


class AccountGoneEvent(BaseModel):
    """An account was suspended or deleted: purge its handle and texts, keep the counts."""

    model_config = ConfigDict(frozen=True)

    type: Literal["account_gone"] = "account_gone"
    channel: str
    account_key: str
    observed_at: datetime
    source: Source


class CountsSnapshot(BaseModel):
    """The counters of one of the channel's posts as re-read over REST (catches un-favourites)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["counts"] = "counts"
    channel: str
    post_id: str
    observed_at: datetime
    replies: int
    favourites: int
    reblogs: int
    quotes: int


class DeadLetter(BaseModel):
    """An input that could not be normalised, kept aside with the reason; ingestion goes on."""

    model_config = ConfigDict(frozen=True)

    type: Literal["dead_letter"] = "dead_letter"
    channel: str
    received_at: datetime
    source: Source
    reason: str
    payload: str  # the raw text as received (invalid UTF-8 replaced), never a token


Event = Annotated[
    Union[
        StatusEvent,
        InteractionEvent,
        EditEvent,
        DeleteEvent,
        AccountGoneEvent,
        CountsSnapshot,
        DeadLetter,
    ],
    Field(discriminator="type"),
]

__all__ = [
    "Account",
    "AccountGoneEvent",
    "CountsSnapshot",
    "DeadLetter",
    "DeleteEvent",
    "EditEvent",
    "Event",
    "InteractionEvent",
    "InteractionKind",
    "Relation",
    "Source",
    "StatusEvent",
]
