"""The streaming client connects where the server says and re-subscribes on every socket."""

from __future__ import annotations

import json

from pydantic import SecretStr

from ingester.sources.stream import StreamConfig, subscriptions


def test_the_endpoint_is_the_announced_streaming_host_with_the_websocket_path() -> None:
    cfg = StreamConfig("wss://streaming.mastodon.social", SecretStr("t"))
    assert cfg.endpoint() == "wss://streaming.mastodon.social/api/v1/streaming"


def test_an_http_base_falls_back_to_the_matching_websocket_scheme() -> None:
    assert StreamConfig("https://gemeente.social/", SecretStr("t")).endpoint() == "wss://gemeente.social/api/v1/streaming"
    assert StreamConfig("http://127.0.0.1:4000", SecretStr("t")).endpoint() == "ws://127.0.0.1:4000/api/v1/streaming"


def test_the_token_is_never_part_of_the_url() -> None:
    cfg = StreamConfig("wss://s.example", SecretStr("very-secret"))
    assert "very-secret" not in cfg.endpoint()


def test_subscriptions_are_user_plus_one_hashtag_stream_per_tag() -> None:
    msgs = [json.loads(m) for m in subscriptions(("qena", "vraagvandegemeente"))]
    assert msgs == [
        {"type": "subscribe", "stream": "user"},
        {"type": "subscribe", "stream": "hashtag", "tag": "qena"},
        {"type": "subscribe", "stream": "hashtag", "tag": "vraagvandegemeente"},
    ]
