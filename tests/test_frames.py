"""Stream frame decoding, against every recorded/constructed frame in shared/mastodon/streaming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingester.frames import (
    MalformedFrame,
    SSEDecoder,
    StreamError,
    StreamEvent,
    StreamMessage,
    decode_error_body,
    decode_ws_frame,
)
from tests.conftest import MASTODON, require_corpus

require_corpus()  # golden inputs are the recorded payloads

STREAMING = MASTODON / "streaming"
WS_EVENTS = STREAMING / "websocket" / "events"
SSE_EVENTS = STREAMING / "sse" / "events"
SSE_RECORDED = STREAMING / "sse" / "recorded"

WS_FRAME_FILES = sorted(
    p for p in WS_EVENTS.glob("*.json") if not p.name.endswith(".payload-decoded.json")
)
SSE_EVENT_FILES = sorted(SSE_EVENTS.glob("*.sse"))


def sse_messages(text: str, stream: tuple[str, ...] = ()) -> list[StreamMessage]:
    decoder = SSEDecoder(stream)
    out = [decoder.feed_line(line) for line in text.split("\n")]
    return [m for m in out if m is not None]


def http_status_and_body(path: Path) -> tuple[int, str]:
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    status = int(lines[0].split()[1])
    body = path.read_text().split("\n\n", 1)[1] if "\n\n" in path.read_text() else ""
    return status, body


# -- WebSocket ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WS_FRAME_FILES, ids=lambda p: p.name)
def test_every_websocket_event_file_decodes_to_a_stream_event(path: Path) -> None:
    raw = path.read_text().strip()
    msg = decode_ws_frame(raw)
    frame = json.loads(raw)
    assert isinstance(msg, StreamEvent)
    assert msg.event == frame["event"]
    assert msg.stream == tuple(frame["stream"])


@pytest.mark.parametrize(
    "path", sorted(WS_EVENTS.glob("*.payload-decoded.json")), ids=lambda p: p.name
)
def test_object_payloads_are_decoded_a_second_time_into_the_entity(path: Path) -> None:
    frame_file = path.with_name(path.name.replace(".payload-decoded", ""))
    msg = decode_ws_frame(frame_file.read_text().strip())
    assert isinstance(msg, StreamEvent)
    assert msg.payload == json.loads(path.read_text())


def test_all_frames_jsonl_decodes_line_by_line_in_order() -> None:
    lines = (WS_EVENTS / "all-frames.jsonl").read_text().splitlines()
    messages = [decode_ws_frame(line) for line in lines]
    assert all(isinstance(m, StreamEvent) for m in messages)
    assert [m.event for m in messages if isinstance(m, StreamEvent)] == [
        json.loads(line)["event"] for line in lines
    ]
    assert len(messages) == 15


def test_delete_payload_stays_the_bare_id_string_not_a_json_number() -> None:
    msg = decode_ws_frame((WS_EVENTS / "delete.json").read_text())
    assert msg == StreamEvent(("user",), "delete", "117024236332527350")


def test_hashtag_frames_keep_the_tag_in_the_stream_name() -> None:
    msg = decode_ws_frame((WS_EVENTS / "hashtag-delete.json").read_text())
    assert msg == StreamEvent(("hashtag", "test"), "delete", "108914430312582020")


def test_notifications_merged_keeps_its_string_payload() -> None:
    msg = decode_ws_frame((WS_EVENTS / "notifications_merged.json").read_text())
    assert msg == StreamEvent(("user",), "notifications_merged", "1")


def test_announcement_delete_payload_is_an_id() -> None:
    msg = decode_ws_frame((WS_EVENTS / "announcement.delete.json").read_text())
    assert msg == StreamEvent(("user",), "announcement.delete", "1")


def test_filters_changed_without_payload_decodes_to_none() -> None:
    msg = decode_ws_frame((WS_EVENTS / "filters_changed.json").read_text())
    assert msg == StreamEvent(("user",), "filters_changed", None)


@pytest.mark.parametrize(
    "path", sorted((STREAMING / "websocket" / "docs-examples").glob("*.json")), ids=lambda p: p.name
)
def test_pretty_printed_documentation_frames_decode_too(path: Path) -> None:
    msg = decode_ws_frame(path.read_text())
    assert isinstance(msg, StreamEvent)
    assert msg.stream == tuple(json.loads(path.read_text())["stream"])


@pytest.mark.parametrize(
    "path",
    sorted((STREAMING / "websocket" / "errors").glob("ws-error-*.json")),
    ids=lambda p: p.name,
)
def test_error_frames_without_event_key_become_stream_errors(path: Path) -> None:
    frame = json.loads(path.read_text())
    assert decode_ws_frame(path.read_text()) == StreamError(frame["error"], frame.get("status"))


def test_unsubscribe_error_frame_has_no_status() -> None:
    msg = decode_ws_frame(
        (STREAMING / "websocket" / "errors" / "ws-error-unsubscribe.json").read_text()
    )
    assert msg == StreamError("Error unsubscribing from channel", None)


@pytest.mark.parametrize(
    "path", sorted((STREAMING / "websocket" / "client").glob("*.json")), ids=lambda p: p.name
)
def test_client_subscribe_messages_are_not_mistaken_for_server_frames(path: Path) -> None:
    msg = decode_ws_frame(path.read_text())
    assert isinstance(msg, MalformedFrame)
    assert msg.reason == "frame has neither 'event' nor 'error'"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "frame is not a JSON object"),
        ('{"stream":["user"],"event":"update","payload":"{broken"}', "not valid JSON"),
        ('{"stream":["user"],"event":"update","payload":"[1]"}', "payload is not a JSON object"),
        ('{"stream":["user"],"event":"update"}', "without payload"),
        ('{"stream":["user"],"event":"delete","payload":""}', "payload is not an id"),
        ('{"stream":"user","event":"delete","payload":"1"}', "'stream' is not a list of strings"),
        ('{"stream":["user"],"event":7,"payload":"1"}', "'event' is not a non-empty string"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_websocket_frames_are_reported_with_a_reason(text: str, reason: str) -> None:
    msg = decode_ws_frame(text)
    assert isinstance(msg, MalformedFrame)
    assert reason in msg.reason
    assert msg.raw == text


def test_numeric_delete_id_from_a_lenient_server_becomes_a_string() -> None:
    assert decode_ws_frame('{"stream":["user"],"event":"delete","payload":42}') == StreamEvent(
        ("user",), "delete", "42"
    )


def test_unknown_event_names_are_kept_with_their_raw_payload() -> None:
    msg = decode_ws_frame('{"stream":["user"],"event":"brand.new","payload":"{\\"a\\":1}"}')
    assert msg == StreamEvent(("user",), "brand.new", '{"a":1}')


# -- SSE ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SSE_EVENT_FILES, ids=lambda p: p.name)
def test_every_sse_event_file_gives_the_same_message_as_its_websocket_twin(path: Path) -> None:
    messages = sse_messages(path.read_text())
    twin = WS_EVENTS / path.name.replace(".sse", ".json")
    if path.name == "heartbeat.sse":
        assert messages == []  # only `:)` and `:thump` comments
        return
    assert len(messages) == 1
    ws = decode_ws_frame(twin.read_text())
    assert isinstance(ws, StreamEvent) and isinstance(messages[0], StreamEvent)
    assert (messages[0].event, messages[0].payload) == (ws.event, ws.payload)


def test_recorded_user_stream_yields_its_six_events_in_order() -> None:
    messages = sse_messages((SSE_RECORDED / "user.sse").read_text(), ("user",))
    assert [(m.stream, m.event) for m in messages if isinstance(m, StreamEvent)] == [
        (("user",), "update"),
        (("user",), "notification"),
        (("user",), "update"),
        (("user",), "notification"),
        (("user",), "status.update"),
        (("user",), "delete"),
    ]
    assert len(messages) == 6
    assert messages[-1] == StreamEvent(("user",), "delete", "117024236332527350")


@pytest.mark.parametrize(
    ("name", "events"),
    [
        ("direct.sse", ["conversation", "conversation"]),
        ("direct-2.sse", ["conversation"]),
        ("user-local.sse", ["update"]),
    ],
)
def test_other_recorded_sse_streams_decode_fully(name: str, events: list[str]) -> None:
    messages = sse_messages((SSE_RECORDED / name).read_text())
    assert [m.event for m in messages if isinstance(m, StreamEvent)] == events
    assert all(isinstance(m, StreamEvent) and isinstance(m.payload, dict) for m in messages)


def test_sse_filters_changed_undefined_data_decodes_to_none() -> None:
    assert sse_messages("event: filters_changed\ndata: undefined\n\n") == [
        StreamEvent((), "filters_changed", None)
    ]


def test_sse_accepts_crlf_lines_and_no_space_after_colon() -> None:
    assert sse_messages("event:delete\r\ndata:123\r\n\r\n") == [StreamEvent((), "delete", "123")]


def test_sse_joins_multiple_data_lines_with_newlines() -> None:
    messages = sse_messages('event: update\ndata: {"id":\ndata: "1"}\n\n')
    assert messages == [StreamEvent((), "update", {"id": "1"})]


def test_sse_ignores_id_retry_and_unknown_fields() -> None:
    assert sse_messages("id: 5\nretry: 10\nfoo: bar\nevent: delete\ndata: 9\n\n") == [
        StreamEvent((), "delete", "9")
    ]


def test_sse_data_without_event_name_is_malformed() -> None:
    [msg] = sse_messages("data: 1\n\n")
    assert isinstance(msg, MalformedFrame) and "without a name" in msg.reason


def test_sse_object_event_with_broken_json_is_malformed_and_keeps_the_raw_text() -> None:
    [msg] = sse_messages("event: update\ndata: {oops\n\n")
    assert isinstance(msg, MalformedFrame)
    assert "not valid JSON" in msg.reason and "{oops" in msg.raw


def test_sse_oversized_event_is_malformed_and_bounded() -> None:
    decoder = SSEDecoder(max_event_chars=1000)
    decoder.feed_line("event: update")
    for _ in range(100):
        assert decoder.feed_line("data: " + "x" * 100) is None
    msg = decoder.feed_line("")
    assert isinstance(msg, MalformedFrame) and "larger than 1000" in msg.reason
    assert decoder.feed_line("event: delete") is None  # the decoder recovers for the next event
    decoder.feed_line("data: 5")
    assert decoder.feed_line("") == StreamEvent((), "delete", "5")


def test_sse_incomplete_event_at_end_of_stream_is_not_emitted() -> None:
    assert sse_messages("event: delete\ndata: 5") == []


@pytest.mark.parametrize(
    "path", sorted((STREAMING / "sse" / "errors").glob("*.http")), ids=lambda p: p.name
)
def test_sse_http_error_bodies_decode_to_stream_errors(path: Path) -> None:
    status, body = http_status_and_body(path)
    error = decode_error_body(body, status)
    assert error == StreamError(json.loads(body)["error"], status)


def test_non_json_error_body_keeps_its_first_line() -> None:
    assert decode_error_body("<html>Bad Gateway</html>\n", 502) == StreamError(
        "<html>Bad Gateway</html>", 502
    )
    assert decode_error_body("", 401) == StreamError("empty response", 401)


# -- coverage of the shared folder -----------------------------------------------------------------

NOT_FRAMES = {
    # Transport-level facts for the stream source, not frames: close codes, HTTP heads, URLs.
    "websocket/errors/close-binary-frame.txt",
    "websocket/errors/upgrade-rejected-401.http",
    "websocket/client/connect-urls.txt",
    "sse/recorded/health.response-headers.http",
    "sse/recorded/health.txt",
    "sse/recorded/user.response-headers.http",
}


def test_every_streaming_file_is_covered_by_a_golden_test_above() -> None:
    covered = {p.relative_to(STREAMING).as_posix() for p in WS_FRAME_FILES + SSE_EVENT_FILES}
    for folder, pattern in [
        ("websocket/events", "*"),
        ("websocket/docs-examples", "*.json"),
        ("websocket/errors", "ws-error-*.json"),
        ("websocket/client", "*.json"),
        ("sse/recorded", "*.sse"),
        ("sse/errors", "*.http"),
    ]:
        covered |= {p.relative_to(STREAMING).as_posix() for p in (STREAMING / folder).glob(pattern)}
    every = {p.relative_to(STREAMING).as_posix() for p in STREAMING.rglob("*") if p.is_file()}
    assert every - covered - NOT_FRAMES == set()
