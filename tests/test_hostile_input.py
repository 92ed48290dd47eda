"""Hostile input: whatever a broken or malicious server sends, the normaliser never raises, and
every input is accounted for — valid events, or exactly one dead letter with a reason.

About 12,500 generated inputs in total (5 properties x 2,500): arbitrary JSON, mutated real
payloads, truncated and byte-corrupted frames, unknown event and notification types, hostile names;
plus fixed giants (1 MB content, deep nesting).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as label
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from ingester.events import (
    AccountGoneEvent,
    DeadLetter,
    DeleteEvent,
    EditEvent,
    Event,
    InteractionEvent,
    Source,
    StatusEvent,
)
from ingester.frames import SSEDecoder, decode_ws_frame
from ingester.mastodon_models import MAX_CONTENT_CHARS
from ingester.normalize import (
    MAX_DEAD_LETTER_BYTES,
    ChannelContext,
    normalize_notification,
    normalize_status,
    normalize_stream,
)
from tests.conftest import MASTODON, TEST_SALT, corpus

RECEIVED = datetime(2026, 8, 2, 12, 0, tzinfo=timezone.utc)
CTX = ChannelContext(channel="amsterdam", account_id="117020565966271181", salt=TEST_SALT)
HOSTILE = settings(
    max_examples=2500,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
EVENT_TYPES = (StatusEvent, InteractionEvent, EditEvent, DeleteEvent, AccountGoneEvent, DeadLetter)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def assert_accounted(events: list[Event]) -> None:
    """The invariant: a list of contract events; a dead letter only alone and with a reason;
    everything storable in PostgreSQL text (no NUL, no lone surrogate); the salt nowhere."""
    assert isinstance(events, list)
    assert all(isinstance(e, EVENT_TYPES) for e in events)
    dead = [e for e in events if isinstance(e, DeadLetter)]
    # Labels for `--hypothesis-show-statistics`: shows the inputs really reach every outcome.
    if currently_in_test_context():
        label("dead letter" if dead else f"{len(events)} event(s)" if events else "no event")
    if dead:
        assert len(events) == 1
        assert dead[0].reason.strip()
        assert len(dead[0].payload.encode("utf-8")) <= MAX_DEAD_LETTER_BYTES
    for event in events:
        for text in _strings(event.model_dump()):
            assert "\x00" not in text
            text.encode("utf-8")  # raises on a lone surrogate
            assert TEST_SALT not in text
        if isinstance(event, StatusEvent) and event.content is not None:
            assert len(event.content) <= MAX_CONTENT_CHARS


# -- strategies ------------------------------------------------------------------------------------

NASTY_TEXT = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "'; DROP TABLE pulse.statuses; --",
        "#Robert'); DELETE FROM kpi.posts;--",
        "{{7*7}}${7*7}",
        "\x00",
        "nul\x00inside",
        "\ud800",
        "\udcff surrogate-escaped byte",
        "\u202e\u200b\ufeff",
        "",
        " ",
        "-1",
        "1e309",
        "NaN",
        "117020576916218297",
        "2026-13-45T99:99:99Z",
    ]
) | st.integers(4000, 5000).map(lambda n: "x" * n)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | NASTY_TEXT
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
KNOWN_KEYS = st.sampled_from(
    [
        "id",
        "type",
        "created_at",
        "account",
        "status",
        "uri",
        "url",
        "acct",
        "mentions",
        "tags",
        "quote",
        "in_reply_to_id",
        "in_reply_to_account_id",
        "reblog",
        "content",
        "edited_at",
        "suspended",
        "name",
    ]
)
NOTIFICATION_TYPES = st.sampled_from(
    [
        "mention",
        "status",
        "quote",
        "favourite",
        "reblog",
        "follow",
        "update",
        "quoted_update",
        "poll",
        "follow_request",
        "admin.sign_up",
        "admin.report",
        "moderation_warning",
        "annual_report",
        "severed_relationships",
        "added_to_collection",
        "collection_update",
        "Mention",
        "mention ",
        "💥",
    ]
) | st.text(max_size=20)
STREAM_EVENTS = st.sampled_from(
    [
        "update",
        "status.update",
        "delete",
        "notification",
        "notifications_merged",
        "filters_changed",
        "announcement",
        "announcement.reaction",
        "announcement.delete",
        "conversation",
        "encrypted_message",
        "Update",
        "status.updated",
        "",
    ]
) | st.text(max_size=20)


def _real_payloads() -> list[tuple[str, Any]]:
    entities = MASTODON / "entities"
    out: list[tuple[str, Any]] = []
    if not entities.is_dir():  # the tests drawing from these are skipped without the corpus
        return out
    for name in [
        "notification-mention.json",
        "notification-mention-reply.json",
        "notification-follow.json",
        "notification-mention-status-null.json",
        "notifications-page.json",
    ]:
        data = json.loads((entities / name).read_text())
        out += [("notification", n) for n in (data if isinstance(data, list) else [data])]
    for name in [
        "status-quote.json",
        "status-edited.json",
        "status-reply.json",
        "status-rich-remote.json",
        "status-reblog.json",
        "home-timeline-page.json",
    ]:
        data = json.loads((entities / name).read_text())
        out += [("status", s) for s in (data if isinstance(data, list) else [data])]
    return out


REAL = _real_payloads()
_ALL_FRAMES = MASTODON / "streaming" / "websocket" / "events" / "all-frames.jsonl"
FRAMES = _ALL_FRAMES.read_text().splitlines() if _ALL_FRAMES.is_file() else []


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (dict keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_payloads(draw: st.DrawFn) -> tuple[str, Any]:
    """A real payload with 1-4 changes: a key dropped, a value of the wrong type or hostile text,
    a known key added where it does not belong, an id turned into a number or a huge one."""
    kind, original = draw(st.sampled_from(REAL))
    doc = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["drop", "replace", "nasty", "add", "numeric_id"]))
        if action == "drop" and isinstance(parent, dict):
            del parent[last]
        elif action == "replace":
            parent[last] = draw(JSONISH)
        elif action == "nasty":
            parent[last] = draw(NASTY_TEXT)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(KNOWN_KEYS)] = draw(JSONISH)
        elif action == "numeric_id":
            parent[last] = draw(st.integers(min_value=-(2**64), max_value=2**64))
    if draw(st.booleans()) and isinstance(doc, dict) and kind == "notification":
        doc["type"] = draw(NOTIFICATION_TYPES)
    return kind, doc


# -- properties ------------------------------------------------------------------------------------


@HOSTILE
@given(payload=JSONISH, kind=NOTIFICATION_TYPES)
def test_arbitrary_json_never_raises_and_is_accounted_for(payload: Any, kind: str) -> None:
    assert_accounted(normalize_status(payload, CTX, Source.REST, RECEIVED))
    assert_accounted(normalize_notification(payload, CTX, Source.REST, RECEIVED))
    if isinstance(payload, dict):
        assert_accounted(
            normalize_notification({**payload, "type": kind}, CTX, Source.REST, RECEIVED)
        )


@corpus
@HOSTILE
@given(case=mutated_payloads())
def test_mutated_real_payloads_never_raise_and_are_accounted_for(case: tuple[str, Any]) -> None:
    kind, payload = case
    normalizer = normalize_status if kind == "status" else normalize_notification
    assert_accounted(normalizer(payload, CTX, Source.REST, RECEIVED))


@corpus
@HOSTILE
@given(
    frame=st.sampled_from(FRAMES),
    cut=st.integers(0, 4000),
    noise=st.binary(max_size=8),
    at=st.integers(0, 4000),
)
def test_truncated_and_byte_corrupted_frames_never_raise(
    frame: str, cut: int, noise: bytes, at: int
) -> None:
    data = frame.encode("utf-8")
    data = data[: len(data) - cut] if cut < len(data) else data[:1]
    data = data[:at] + noise + data[at:]
    text = data.decode("utf-8", "surrogateescape")  # invalid UTF-8 becomes lone surrogates
    assert_accounted(normalize_stream(decode_ws_frame(text), CTX, RECEIVED))
    decoder = SSEDecoder(("user",))
    messages = [decoder.feed_line(line) for line in f"event: update\ndata: {text}\n".split("\n")]
    for message in messages:
        if message is not None:
            assert_accounted(normalize_stream(message, CTX, RECEIVED))


@HOSTILE
@given(
    event=STREAM_EVENTS,
    payload=JSONISH,
    as_json_text=st.booleans(),
    stream=st.lists(st.text(max_size=8), max_size=3),
)
def test_any_event_name_with_any_payload_never_raises(
    event: str, payload: Any, as_json_text: bool, stream: list[str]
) -> None:
    body = json.dumps(payload) if as_json_text else payload
    frame = json.dumps({"stream": stream, "event": event, "payload": body})
    assert_accounted(normalize_stream(decode_ws_frame(frame), CTX, RECEIVED))


@corpus
@HOSTILE
@given(
    ids=st.lists(
        st.integers(min_value=0, max_value=2**63)
        | st.from_regex(r"\A[0-9A-Za-z]{1,25}\Z")
        | st.text(max_size=25),
        min_size=3,
        max_size=3,
    ),
    created=st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat())
    | st.text(max_size=30),
    tag=NASTY_TEXT | st.text(max_size=40),
    acct=NASTY_TEXT | st.text(max_size=40),
)
def test_out_of_order_ids_odd_dates_and_hostile_names_never_raise(
    ids: list[Any], created: str, tag: str, acct: str
) -> None:
    status = json.loads((MASTODON / "entities" / "notification-mention.json").read_text())["status"]
    status.update(
        id=ids[0], in_reply_to_id=ids[1], in_reply_to_account_id=ids[2], created_at=created
    )
    status["tags"] = [{"name": tag}, {"name": "#" + tag.upper()}]
    status["account"]["acct"] = acct
    events = normalize_status(status, CTX, Source.REST, RECEIVED)
    assert_accounted(events)
    for event in events:
        if isinstance(event, StatusEvent):
            assert all(t == t.lower() and not t.startswith("#") for t in event.tags)
            assert (
                event.account.acct == acct
            )  # hostile handles are stored verbatim, never evaluated


# -- fixed giants ----------------------------------------------------------------------------------


@corpus
def test_one_megabyte_content_is_a_dead_letter_not_a_crash() -> None:
    status = json.loads((MASTODON / "entities" / "status-reply.json").read_text())
    status["content"] = "<p>" + "a" * 1_000_000 + "</p>"
    frame = json.dumps({"stream": ["user"], "event": "update", "payload": json.dumps(status)})
    [dead] = normalize_stream(decode_ws_frame(frame), CTX, RECEIVED)
    assert (
        isinstance(dead, DeadLetter)
        and dead.reason == "status.content: longer than 100000 characters"
    )
    assert_accounted([dead])


def test_deeply_nested_json_is_a_dead_letter_not_a_crash() -> None:
    deep = "[" * 200_000 + "]" * 200_000
    frame = json.dumps({"stream": ["user"], "event": "notification", "payload": deep})
    [dead] = normalize_stream(decode_ws_frame(frame), CTX, RECEIVED)
    assert isinstance(dead, DeadLetter) and "nested too deeply" in dead.reason


def test_deeply_nested_python_payload_is_a_dead_letter_not_a_crash() -> None:
    nested: Any = "bottom"
    for _ in range(100_000):
        nested = {"status": nested}
    for normalizer in (normalize_status, normalize_notification):
        [dead] = normalizer(nested, CTX, Source.REST, RECEIVED)
        assert isinstance(dead, DeadLetter) and dead.reason
        assert_accounted([dead])
