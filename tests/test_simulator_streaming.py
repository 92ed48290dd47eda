"""The simulator's streaming host, driven by the `websockets` client (and aiohttp for SSE/pings)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from ingester.simulator import Scenario, SimConfig, Simulator
from tests.conftest import MASTODON, corpus

FRAMES = MASTODON / "streaming" / "websocket"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimConfig(residents=6, ping_interval=0.2, sse_heartbeat=0.2)) as s:
        yield s


def connect(sim: Simulator, query: str = "", token: str | None = "default") -> Any:
    headers = {"Authorization": f"Bearer {sim.token() if token == 'default' else token}"} if token else {}
    return websockets.connect(f"{sim.streaming_url}/api/v1/streaming{query}", additional_headers=headers)


async def subscribe(ws: Any, **msg: str) -> None:
    await ws.send(json.dumps({"type": "subscribe", **msg}))
    await asyncio.sleep(0.05)  # no acknowledgement exists; give the server a moment


async def frames(ws: Any, wait: float = 0.2) -> list[dict[str, Any]]:
    out = []
    try:
        while True:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), wait)))
    except asyncio.TimeoutError:
        return out


def resident(sim: Simulator, local: bool = True) -> str:
    return next(r.id for r in sim.residents if (r.domain is None) == local)


@corpus
async def test_a_mention_arrives_as_a_notification_with_a_json_text_payload(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        status = sim.world.post(resident(sim), "hoi", mentions=(sim.channel_ids["main"],))
        (frame,) = await frames(ws)
    real = json.loads((FRAMES / "events" / "notification.json").read_text())
    assert frame.keys() == real.keys() and frame["stream"] == ["user"] and frame["event"] == "notification"
    assert isinstance(frame["payload"], str)
    payload = json.loads(frame["payload"])
    assert payload.keys() == json.loads(real["payload"]).keys()
    assert (payload["type"], payload["status"]["id"]) == ("mention", status.id)


async def test_the_first_subscription_can_come_from_the_query(sim: Simulator) -> None:
    async with connect(sim, "?stream=user") as ws:
        await asyncio.sleep(0.05)
        own = sim.world.post(sim.channel_ids["main"], "nieuws")
        (frame,) = await frames(ws)
    assert frame["event"] == "update" and json.loads(frame["payload"])["id"] == own.id


async def test_delete_carries_the_bare_status_id(sim: Simulator) -> None:
    city = sim.channel_ids["main"]
    reply = sim.world.post(resident(sim), "hoi", mentions=(city,))
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        sim.world.delete(reply.id)
        (frame,) = await frames(ws)
    assert frame == {"stream": ["user"], "event": "delete", "payload": reply.id}


async def test_an_edit_of_a_mention_streams_status_update_with_edited_at(sim: Simulator) -> None:
    reply = sim.world.post(resident(sim), "hoi", mentions=(sim.channel_ids["main"],))
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        sim.world.edit(reply.id, "hallo")
        (frame,) = await frames(ws)
    assert frame["event"] == "status.update" and json.loads(frame["payload"])["edited_at"] is not None


async def test_withdrawn_favourites_stream_nothing(sim: Simulator) -> None:
    post = sim.world.post(sim.channel_ids["main"], "vraag")
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        sim.world.favourite(resident(sim), post.id)
        sim.world.unfavourite(resident(sim), post.id)
        got = await frames(ws)
    assert [f["event"] for f in got] == ["notification"]


async def test_a_reply_that_does_not_mention_the_city_creates_no_user_frame(sim: Simulator) -> None:
    city = sim.channel_ids["main"]
    root = sim.world.post(city, "vraag", tags=("qena",))
    first = sim.world.post(resident(sim), "ja", in_reply_to=root.id, mentions=(city,))
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        await subscribe(ws, stream="hashtag", tag="QenA")
        quiet = sim.world.post(resident(sim, local=False), "nee", in_reply_to=first.id,
                               mentions=(first.account_id,), tags=("qena",))
        got = await frames(ws)
    assert [(f["stream"], f["event"]) for f in got] == [(["hashtag", "QenA"], "update")]
    assert json.loads(got[0]["payload"])["id"] == quiet.id


async def test_a_repeated_subscribe_is_ignored(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        await subscribe(ws, stream="user")
        sim.world.post(sim.channel_ids["main"], "nieuws")
        assert len(await frames(ws)) == 1


async def test_unsubscribe_stops_the_frames(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        await ws.send(json.dumps({"type": "unsubscribe", "stream": "user"}))
        await asyncio.sleep(0.05)
        sim.world.post(sim.channel_ids["main"], "nieuws")
        assert await frames(ws) == []


async def test_an_unknown_stream_gets_an_error_frame_and_the_socket_stays_open(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await subscribe(ws, stream="nonsense")
        await subscribe(ws, stream="hashtag")
        errors = await frames(ws)
        await subscribe(ws, stream="user")
        sim.world.post(sim.channel_ids["main"], "nieuws")
        after = await frames(ws)
    assert errors == [{"error": "Unknown stream type", "status": 400},
                      {"error": "Missing tag name parameter", "status": 400}]
    assert [f["event"] for f in after] == ["update"]


async def test_a_binary_frame_closes_the_socket_with_1003(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosedError) as closed:
            await asyncio.wait_for(ws.recv(), 2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


@pytest.mark.parametrize(("token", "message"), [(None, "Missing access token"), ("wrong", "Invalid access token")])
async def test_an_upgrade_without_a_valid_token_is_rejected_with_a_bare_401(
    sim: Simulator, token: str | None, message: str
) -> None:
    with pytest.raises(InvalidStatus) as rejected:
        async with connect(sim, token=token):
            pass
    response = rejected.value.response
    assert response.status_code == 401 and response.headers["X-Error-Message"] == message
    assert response.body in (b"", None)


async def test_subscriptions_are_not_restored_after_a_drop(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        assert sim.faults.drop_all() == 1
        with pytest.raises(ConnectionClosedError):
            await asyncio.wait_for(ws.recv(), 2)
    async with connect(sim) as again:
        await asyncio.sleep(0.05)
        sim.world.post(sim.channel_ids["main"], "nieuws")
        assert await frames(again) == []
    assert sim.faults.snapshot()["sockets_dropped"] == 1


async def test_refused_reconnects_get_503_until_the_window_ends(sim: Simulator) -> None:
    sim.faults.refuse_reconnects(0.3)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(sim):
            pass
    assert refused.value.response.status_code == 503
    await asyncio.sleep(0.35)
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
    assert sim.faults.snapshot()["refused_connections"] == 1


async def test_a_stalled_socket_stays_open_but_loses_what_happens_meanwhile(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        sim.faults.stall(0.3)
        sim.world.post(sim.channel_ids["main"], "tijdens")
        during = await frames(ws, wait=0.1)
        await asyncio.sleep(0.25)
        sim.world.post(sim.channel_ids["main"], "erna")
        after = await frames(ws)
    assert during == [] and [json.loads(f["payload"])["content"] for f in after] == ["<p>erna</p>"]


async def test_the_server_pings_and_terminates_a_socket_that_never_pongs(sim: Simulator) -> None:
    headers = {"Authorization": f"Bearer {sim.token()}"}
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{sim.streaming_http_url}/api/v1/streaming", headers=headers,
                                   autoping=False) as ws:
            first = await asyncio.wait_for(ws.receive(), 2)
            rest = [await asyncio.wait_for(ws.receive(), 2) for _ in range(2)]
    assert first.type == aiohttp.WSMsgType.PING
    assert aiohttp.WSMsgType.CLOSED in {m.type for m in rest} or aiohttp.WSMsgType.ERROR in {m.type for m in rest}


async def test_scenario_noise_frames_reach_the_user_stream(sim: Simulator) -> None:
    async with connect(sim) as ws:
        await subscribe(ws, stream="user")
        await sim.play(Scenario(events=60, seed=5, noise_share=0.5))
        events = {f["event"] for f in await frames(ws)}
    assert {"notifications_merged", "filters_changed", "announcement", "encrypted_message"} <= events


async def test_health_answers_ok_in_plain_text(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.streaming_http_url}/api/v1/streaming/health") as r:
            assert (r.status, r.content_type, await r.text()) == (200, "text/plain", "OK")


async def test_sse_opens_with_a_preamble_then_events_and_heartbeats(sim: Simulator) -> None:
    headers = {"Authorization": f"Bearer {sim.token()}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.streaming_http_url}/api/v1/streaming/user", headers=headers) as r:
            assert r.content_type == "text/event-stream"
            assert await r.content.readline() == b":)\n"
            status = sim.world.post(resident(sim), "hoi", mentions=(sim.channel_ids["main"],))
            lines = [await asyncio.wait_for(r.content.readline(), 2) for _ in range(4)]
    assert lines[0] == b"event: notification\n"
    assert json.loads(lines[1].removeprefix(b"data: "))["status"]["id"] == status.id
    assert lines[2:] == [b"\n", b":thump\n"]


async def test_sse_errors_are_json(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.streaming_http_url}/api/v1/streaming/nonsense") as r:
            assert (r.status, await r.json()) == (400, {"error": "Unknown channel requested"})
        async with http.get(f"{sim.streaming_http_url}/api/v1/streaming/user") as r:
            assert (r.status, await r.json()) == (401, {"error": "Missing access token"})
