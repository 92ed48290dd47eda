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


async def test_sockets_cut_right_after_the_upgrade_are_reconnected_until_one_holds() -> None:
    import asyncio

    from ingester.simulator import SimConfig, Simulator
    from ingester.sources.stream import StreamSource

    async with Simulator(SimConfig()) as sim:
        connected = asyncio.Event()
        reasons: list[str] = []

        async def on_text(text: str, received: float) -> None:
            return None

        cfg = StreamConfig(sim.streaming_url, SecretStr(sim.token()), hashtags=("a", "b", "c", "d"),
                           backoff_initial=0.01, backoff_max=0.05)
        source = StreamSource(cfg, on_text, connected.set, on_disconnected=reasons.append)
        sim.faults.cut_after_upgrade(15)
        task = asyncio.create_task(source.run())
        try:
            await asyncio.wait_for(connected.wait(), 20)  # the sixteenth socket holds
            assert sim.faults.snapshot()["cut_after_upgrade"] == 15
            assert len(reasons) == 15 and source.connects == 16 and not task.done()
            # every cut was a plain drop (during the subscriptions or the first read), never a crash
            assert all(r.startswith(("closed while subscribing", "closed by server")) for r in reasons), reasons
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
