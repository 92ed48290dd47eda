"""Stream frame decoding: text in, typed messages out. Pure (no I/O), like h11 or httpx-sse.

Mastodon's streaming server frames events two ways (PROTOCOL.md §4):
- WebSocket: one text frame per event, `{"stream": [...], "event": NAME, "payload": "<string>"}`.
  `payload` is always a *string*: the JSON text of the entity for object events (decode it a second
  time), the bare id for `delete` / `announcement.delete`, `"1"` for `notifications_merged`, and
  absent for `filters_changed`. Error frames have no `event` key: `{"error": ..., "status": 400}`.
- SSE: `event: NAME` then `data: PAYLOAD` then a blank line; `:` lines are comments/heartbeats.

The payload is decoded *by event name*, never by guessing from its shape: an id that happens to be
valid JSON (`"117024236332527350"` is a JSON number) must stay a string id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic_core import from_json

# Events whose payload is the JSON text of an entity (Status, Notification, Conversation, ...).
OBJECT_EVENTS = frozenset(
    {
        "update",
        "status.update",
        "notification",
        "conversation",
        "announcement",
        "announcement.reaction",
        "encrypted_message",
    }
)
# Events whose payload is a bare id string (`transmit()` passes strings through unencoded).
ID_EVENTS = frozenset({"delete", "announcement.delete"})
# `filters_changed` is published without a payload; SSE shows JS `undefined` as `data: undefined`.
NO_PAYLOAD_EVENTS = frozenset({"filters_changed"})

# A Mastodon frame is at most a few hundred KiB; anything far larger is an attack or a bug.
MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024
_RAW_KEEP = 64 * 1024  # how much of an oversized SSE event to keep for the dead letter


@dataclass(frozen=True)
class StreamEvent:
    """One event. `payload`: the decoded entity dict (object events), the id string (`delete`,
    `announcement.delete`), the raw string for `notifications_merged` and unknown events, or None.
    """

    stream: tuple[str, ...]
    event: str
    payload: object


@dataclass(frozen=True)
class StreamError:
    """An error frame from the server (bad subscription, scopes); the connection stays open."""

    error: str
    status: int | None


@dataclass(frozen=True)
class MalformedFrame:
    """A frame that is not what the protocol promises; `raw` is the text as received."""

    reason: str
    raw: str


StreamMessage = StreamEvent | StreamError | MalformedFrame


class _Malformed(Exception):
    """Internal: a payload that does not fit its event name."""


def _loads(text: str) -> object:
    # Hot path (every frame is decoded twice): pydantic-core's JSON parser (jiter) is about twice as
    # fast as the stdlib's and gives equal values for valid JSON. Whatever it refuses (broken JSON,
    # lone surrogate escapes, nesting past its depth limit, text that is not UTF-8-encodable) goes
    # through `json` exactly as before, so edge cases decode and fail with the same reasons.
    try:
        return from_json(text, cache_strings="keys")  # caching values too measured slower
    except (ValueError, TypeError):
        pass
    try:
        return json.loads(text)
    except RecursionError:
        raise _Malformed("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError-like oddities
        msg = getattr(exc, "msg", None) or "invalid"
        raise _Malformed(f"not valid JSON ({msg})") from None


def decode_payload(event: str, payload: object) -> object:
    """Decode one event's payload according to its event name (shared by WebSocket and SSE)."""
    if event in NO_PAYLOAD_EVENTS:
        return None
    if event in OBJECT_EVENTS:
        if isinstance(payload, str):
            payload = _loads(payload)
        elif payload is None:
            raise _Malformed(f"event {event!r} without payload")
        # Some servers inline the object instead of a JSON string: same meaning, accept it.
        if not isinstance(payload, dict):
            raise _Malformed(f"event {event!r}: payload is not a JSON object")
        return payload
    if event in ID_EVENTS:
        # A number is tolerated (ids are strings by contract, some servers send numbers).
        if isinstance(payload, int) and not isinstance(payload, bool):
            return str(payload)
        if isinstance(payload, str) and payload.strip():
            return payload.strip()
        raise _Malformed(f"event {event!r}: payload is not an id")
    # `notifications_merged` ("1") and event names we do not know: keep the payload untouched.
    return payload


def _stream_name(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return tuple(value)
    raise _Malformed("'stream' is not a list of strings")


def decode_ws_frame(text: str) -> StreamMessage:
    """Decode one WebSocket text frame. Never raises: bad input becomes a `MalformedFrame`."""
    if not isinstance(text, str):
        return MalformedFrame("frame is not text", repr(text)[:_RAW_KEEP])
    try:
        frame = _loads(text)
        if not isinstance(frame, dict):
            raise _Malformed("frame is not a JSON object")
        event = frame.get("event")
        if event is None:
            return _error_frame(frame)
        if not isinstance(event, str) or not event:
            raise _Malformed("'event' is not a non-empty string")
        stream = _stream_name(frame.get("stream"))
        return StreamEvent(stream, event, decode_payload(event, frame.get("payload")))
    except _Malformed as exc:
        return MalformedFrame(str(exc), text)


def _error_frame(frame: dict[str, object]) -> StreamError:
    error = frame.get("error")
    if not isinstance(error, str):
        raise _Malformed("frame has neither 'event' nor 'error'")
    status = frame.get("status")
    if not (isinstance(status, int) and not isinstance(status, bool)):
        status = None  # `Error unsubscribing from channel` is sent without a status
    return StreamError(error, status)


def decode_error_body(body: str, status: int | None) -> StreamError:
    """An HTTP error answer of the streaming server (SSE request, health): `{"error": "..."}`.

    Falls back to the body text itself when it is not that JSON shape (proxies answer HTML).
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return StreamError(data["error"], status)
    text = body.strip().splitlines()[0][:200] if body.strip() else "empty response"
    return StreamError(text, status)


class SSEDecoder:
    """Incremental Server-Sent Events decoder for Mastodon's `/api/v1/streaming/...` responses.

    Feed it lines without their newline; it returns a message when a blank line completes an event,
    otherwise None. `stream` names the channel this response is for (SSE frames do not carry it).
    Follows the WHATWG rules Mastodon needs: `:` comments ignored, `data` lines joined with `\\n`,
    one space after the colon stripped, `id`/`retry`/unknown fields ignored.
    """

    def __init__(self, stream: tuple[str, ...] = (), max_event_chars: int = MAX_SSE_EVENT_CHARS):
        self._stream = tuple(stream)
        self._max = max_event_chars
        self._event: str | None = None
        self._data: list[str] = []
        self._size = 0
        self._kept = 0
        self._oversized = False

    def feed_line(self, line: str) -> StreamMessage | None:
        line = line.removesuffix("\r")  # tolerate CRLF framing from proxies
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # `:)` preamble, `:thump` heartbeats
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._size += len(value) + 1
            if self._size > self._max:
                self._oversized = True
            # Past the limit keep only a prefix for the dead letter, so memory stays bounded.
            if not self._oversized or self._kept < _RAW_KEEP:
                self._data.append(value if not self._oversized else value[:_RAW_KEEP])
                self._kept += len(value)
        return None

    def _dispatch(self) -> StreamMessage | None:
        event, data, oversized = self._event, "\n".join(self._data), self._oversized
        self._event, self._data, self._size, self._kept, self._oversized = None, [], 0, 0, False
        if event is None and not data:
            return None  # blank line between events
        raw = f"event: {event}\ndata: {data}" if event is not None else f"data: {data}"
        if oversized:
            return MalformedFrame(f"SSE event larger than {self._max} characters", raw[:_RAW_KEEP])
        if not event:
            # The WHATWG default type is "message"; Mastodon always names its events.
            return MalformedFrame("SSE event without a name", raw)
        try:
            return StreamEvent(self._stream, event, decode_payload(event, data))
        except _Malformed as exc:
            return MalformedFrame(str(exc), raw)


__all__ = [
    "ID_EVENTS",
    "NO_PAYLOAD_EVENTS",
    "OBJECT_EVENTS",
    "MalformedFrame",
    "SSEDecoder",
    "StreamError",
    "StreamEvent",
    "StreamMessage",
    "decode_error_body",
    "decode_payload",
    "decode_ws_frame",
]
