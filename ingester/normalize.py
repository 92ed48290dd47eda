"""Mastodon payloads in, normalised events (`ingester.events`) out. Pure: no I/O, clock or state.

Three entry points, one per way a payload reaches us: a decoded stream message, a notification
(stream or REST paging) and a status (REST timelines, thread context). Each returns a list:
zero or more events, or exactly one `DeadLetter` when the input cannot be normalised. They never
raise on bad input — a hostile or broken server must not stop ingestion, and nothing is dropped
silently: what we cannot read is kept aside with a short reason.

Relation rules (how a status relates to the channel) live in `MStatus.relation_to`; the final
engagement kind is derived in SQL once threads are resolved (see `events.Relation`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable

from pydantic import TypeAdapter, ValidationError

from ingester.events import (
    Account,
    AccountGoneEvent,
    DeadLetter,
    DeleteEvent,
    EditEvent,
    Event,
    InteractionEvent,
    InteractionKind,
    Source,
    StatusEvent,
)
from ingester.frames import MalformedFrame, StreamError, StreamEvent, StreamMessage
from ingester.identity import account_identifier, account_key
from ingester.mastodon_models import (
    Id,
    MAccount,
    MNotification,
    MNotificationHead,
    MStatus,
    describe_error,
    validate,
    validate_fast,
)
from ingester.redact import Redactor

MAX_DEAD_LETTER_BYTES = 64 * 1024
MAX_REASON_CHARS = 300

# Stream events that carry nothing for engagement KPIs. The stream source itself reacts to
# `notifications_merged` (it refetches notifications); the normaliser has nothing to emit for it.
IGNORED_STREAM_EVENTS = frozenset(
    {"notifications_merged", "filters_changed", "announcement", "announcement.reaction",
     "announcement.delete", "conversation", "encrypted_message"}
)  # fmt: skip
# Notification types Mastodon sends that do not feed any KPI (PROTOCOL.md §7).
IGNORED_NOTIFICATION_TYPES = frozenset(
    {"follow_request", "poll", "admin.sign_up", "admin.report", "severed_relationships",
     "moderation_warning", "annual_report", "added_to_collection", "collection_update"}
)  # fmt: skip
STATUS_NOTIFICATION_TYPES = frozenset({"mention", "status", "quote"})
EDIT_NOTIFICATION_TYPES = frozenset({"update", "quoted_update"})
INTERACTION_NOTIFICATION_TYPES = {
    "favourite": InteractionKind.FAVOURITE,
    "reblog": InteractionKind.REBLOG,
    "follow": InteractionKind.FOLLOW,
}
KNOWN_NOTIFICATION_TYPES = (
    STATUS_NOTIFICATION_TYPES | EDIT_NOTIFICATION_TYPES | INTERACTION_NOTIFICATION_TYPES.keys()
)

_ID = TypeAdapter(Id)
# Generic secret shapes only (`"access_token": "..."`, `Bearer ...`): payloads are not supposed to
# carry tokens, but a dead letter is stored verbatim, so make sure.
_SCRUB = Redactor()


@dataclass(frozen=True)
class ChannelContext:
    """The channel a payload was received for; `account_id` is its account id on its own server."""

    channel: str
    account_id: str
    salt: str = field(repr=False)  # secret: never in a repr, a log line or an event


# -- public entry points --------------------------------------------------------------------


def normalize_stream(msg: StreamMessage, ctx: ChannelContext, received_at: datetime) -> list[Event]:
    """Events from one decoded stream message (WebSocket or SSE)."""
    if isinstance(msg, StreamError):
        return []  # the stream source logs it and decides about the connection
    if isinstance(msg, MalformedFrame):
        return [_dead(ctx, Source.STREAM, received_at, f"malformed frame: {msg.reason}", msg.raw)]
    if not isinstance(msg, StreamEvent):
        return [_dead(ctx, Source.STREAM, received_at, "not a stream message", repr(msg))]
    return _guarded(f"stream {msg.event!r}", _stream_event, msg, ctx, Source.STREAM, received_at)


def normalize_notification(
    payload: object, ctx: ChannelContext, source: Source, received_at: datetime
) -> list[Event]:
    """Events from one notification (v1 shape), from the stream or a REST page."""
    return _guarded("notification", _notification, payload, ctx, source, received_at)


def normalize_status(
    payload: object, ctx: ChannelContext, source: Source, received_at: datetime
) -> list[Event]:
    """Events from one status (timeline page, thread context, `update` frame)."""
    return _guarded("status", _status, payload, ctx, source, received_at)


# -- dispatch ---------------------------------------------------------------------------------


def _stream_event(
    msg: StreamEvent, ctx: ChannelContext, source: Source, at: datetime
) -> list[Event]:
    payload = msg.payload
    match msg.event:
        case "update":
            return _status(payload, ctx, source, at)
        case "status.update":
            return _edit(validate(MStatus, payload), ctx, source, at, via=None)
        case "delete":
            status_id = _ID.validate_python(payload)
            return [
                DeleteEvent(channel=ctx.channel, status_id=status_id, observed_at=at, source=source)
            ]
        case "notification":
            return _notification(payload, ctx, source, at)
        case event if event in IGNORED_STREAM_EVENTS:
            return []
        case event:
            return [_dead(ctx, source, at, f"unknown stream event {event!r}", payload)]


def _status(payload: object, ctx: ChannelContext, source: Source, at: datetime) -> list[Event]:
    return _status_events(validate(MStatus, payload), ctx, source, at, via=None)


def _notification(
    payload: object, ctx: ChannelContext, source: Source, at: datetime
) -> list[Event]:
    if not isinstance(payload, dict):
        reason = f"notification: expected a JSON object, got {_kind(payload)}"
        return [_dead(ctx, source, at, reason, payload)]
    if "id" not in payload and ("group_key" in payload or "notification_groups" in payload):
        reason = "grouped notification (v2 shape) is not supported: page /api/v1/notifications"
        return [_dead(ctx, source, at, reason, payload)]
    # Clean, complete notifications (nearly all) validate in one go. Otherwise route on the type
    # first: irrelevant types need not be valid beyond their id and type.
    full = validate_fast(MNotification, payload)
    kind = full.type if full is not None else validate(MNotificationHead, payload).type
    if kind in IGNORED_NOTIFICATION_TYPES:
        return []
    if kind not in KNOWN_NOTIFICATION_TYPES:
        return [_dead(ctx, source, at, f"unknown notification type {kind!r}", payload)]

    n = full if full is not None else validate(MNotification, payload)
    events: list[Event]
    if kind == "follow":
        events = [_interaction(n, None, ctx, source)]
    elif n.status is None:
        # Real oddity (mastodon.social): `mention` notifications whose status is null.
        return [_dead(ctx, source, at, f"{kind} notification {n.id} without status", payload)]
    elif kind in STATUS_NOTIFICATION_TYPES:
        events = _status_events(n.status, ctx, source, at, via=kind)
    elif kind in EDIT_NOTIFICATION_TYPES:
        events = _edit(n.status, ctx, source, at, via=kind)
    else:
        events = [_interaction(n, n.status.id, ctx, source)]
    return _with_gone(events, n.account, ctx, source, at)


def _interaction(
    n: MNotification, status_id: str | None, ctx: ChannelContext, source: Source
) -> InteractionEvent:
    return InteractionEvent(
        channel=ctx.channel,
        notification_id=n.id,  # favourites/boosts/follows have no id of their own
        occurred_at=n.created_at,
        kind=INTERACTION_NOTIFICATION_TYPES[n.type],
        status_id=status_id,
        account=_account(n.account, ctx),
        source=source,
    )


# -- statuses ---------------------------------------------------------------------------------


def _status_events(
    s: MStatus, ctx: ChannelContext, source: Source, at: datetime, via: str | None
) -> list[Event]:
    event = _status_event(s, ctx, source, via)
    return _with_gone([event] if event else [], s.account, ctx, source, at)


def _edit(
    s: MStatus, ctx: ChannelContext, source: Source, at: datetime, via: str | None
) -> list[Event]:
    event = _status_event(s, ctx, source, via)
    out: list[Event] = []
    if event is not None:
        # Without `edited_at` there is no version to record (pulse.edits needs it): a plain status.
        out.append(EditEvent(status=event) if event.edited_at is not None else event)
    return _with_gone(out, s.account, ctx, source, at)


def _status_event(
    s: MStatus, ctx: ChannelContext, source: Source, via: str | None
) -> StatusEvent | None:
    if s.reblog is not None:
        return None  # boosts are counted from `reblog` notifications, not from timeline copies
    relation, mentions_channel = s.relation_to(ctx.account_id, via)
    if relation is None:
        return None  # top-level and unrelated: store nothing we do not need
    return StatusEvent(
        channel=ctx.channel,
        status_id=s.id,
        created_at=s.created_at,
        relation=relation,
        account=_account(s.account, ctx),
        in_reply_to_id=s.in_reply_to_id,
        in_reply_to_account_id=s.in_reply_to_account_id,
        quoted_id=s.quote.quoted_id if s.quote is not None else None,
        mentions_channel=mentions_channel,
        url=s.url,
        tags=s.tag_names(),
        content=s.content,  # HTML as sent; the board escapes it
        language=s.language,
        visibility=s.visibility,
        edited_at=s.edited_at,
        source=source,
    )


# -- accounts ---------------------------------------------------------------------------------


def _account(a: MAccount, ctx: ChannelContext) -> Account:
    return _account_for(a.uri, a.url, a.acct, ctx.salt)


@lru_cache(maxsize=16_384)
def _account_for(uri: str | None, url: str | None, acct: str, salt: str) -> Account:
    # A channel hears from the same residents again and again; Account is a frozen value, so one
    # instance serves every event of an account (the HMAC and the model are built once, not per event).
    ident = account_identifier(uri, url, acct)
    assert ident is not None  # acct is required by the model
    return Account(key=account_key(ident, salt), acct=acct, url=url)


def _with_gone(
    events: list[Event], a: MAccount, ctx: ChannelContext, source: Source, at: datetime
) -> list[Event]:
    """Append one AccountGoneEvent when the account is suspended (the sink purges after insert)."""
    if not a.suspended:
        return events
    key = _account(a, ctx).key
    if any(isinstance(e, AccountGoneEvent) and e.account_key == key for e in events):
        return events
    gone = AccountGoneEvent(channel=ctx.channel, account_key=key, observed_at=at, source=source)
    return [*events, gone]


# -- failures ---------------------------------------------------------------------------------


def _guarded(
    entity: str,
    fn: Callable[[Any, ChannelContext, Source, datetime], list[Event]],
    payload: Any,
    ctx: ChannelContext,
    source: Source,
    at: datetime,
) -> list[Event]:
    """Run `fn`; any failure becomes one DeadLetter. The broad catch is the point: bad input from a
    server must never take the ingester down, and every input must be accounted for."""
    raw = payload.payload if isinstance(payload, StreamEvent) else payload
    try:
        return fn(payload, ctx, source, at)
    except ValidationError as exc:
        return [_dead(ctx, source, at, describe_error(_entity_of(entity, exc), exc), raw)]
    except RecursionError:
        return [_dead(ctx, source, at, f"{entity}: nested too deeply", raw)]
    except Exception as exc:  # noqa: BLE001 - see docstring
        return [_dead(ctx, source, at, f"{entity}: cannot normalise ({type(exc).__name__})", raw)]


_MODEL_ENTITY = {
    "MStatus": "status",
    "MNotification": "notification",
    "MNotificationHead": "notification",
}


def _entity_of(entity: str, exc: ValidationError) -> str:
    """Name the model that failed ("status" in a `status.update` frame), else the entry point."""
    return _MODEL_ENTITY.get(exc.title, entity)


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _text(value: str) -> str:
    """Storable text: lone surrogates and NUL (both rejected by PostgreSQL) replaced."""
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _cap(value: str, limit: int) -> str:
    data = value.encode("utf-8")
    if len(data) <= limit:
        return value
    return data[: limit - 16].decode("utf-8", "ignore") + " …[truncated]"


def _dump(payload: object) -> str:
    if isinstance(payload, str):
        return payload
    try:
        return json.dumps(payload, ensure_ascii=False, default=str)
    except RecursionError:
        return f"<{_kind(payload)} nested too deeply to serialise>"
    except (TypeError, ValueError):
        return f"<unserialisable {_kind(payload)}>"


def _dead(
    ctx: ChannelContext, source: Source, at: datetime, reason: str, payload: object
) -> DeadLetter:
    text = _cap(_text(_dump(payload)), MAX_DEAD_LETTER_BYTES)
    why = _text(_SCRUB.scrub(reason))[:MAX_REASON_CHARS] or "invalid input"
    return DeadLetter(
        channel=ctx.channel,
        received_at=at,
        source=source,
        reason=why,
        payload=_cap(_SCRUB.scrub(text), MAX_DEAD_LETTER_BYTES),
    )


__all__ = [
    "IGNORED_NOTIFICATION_TYPES",
    "IGNORED_STREAM_EVENTS",
    "KNOWN_NOTIFICATION_TYPES",
    "MAX_DEAD_LETTER_BYTES",
    "ChannelContext",
    "normalize_notification",
    "normalize_stream",
    "normalize_status",
]
