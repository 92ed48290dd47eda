"""Scenarios and their ground truth, checked against what real clients can observe."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
import websockets
from mastodon import Mastodon
from typer.testing import CliRunner

from ingester.simulator import ChannelSpec, GroundTruth, Scenario, SimConfig, Simulator

TWO_CHANNELS = (ChannelSpec(), ChannelSpec(name="zuid", username="stadsdeelzuid", token="zuid-token"))
BACKDATED = Scenario(events=120, seed=3, start_at=datetime(2025, 10, 25, 23, 0, tzinfo=timezone.utc),
                     time_step=timedelta(minutes=2), delete_share=0.05, withdraw_share=0.05)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimConfig(residents=15)) as s:
        yield s


async def get_json(sim: Simulator, path: str, token: str | None = None, **params: str) -> object:
    headers = {"Authorization": f"Bearer {token or sim.token()}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(sim.base_url + path, params=params, headers=headers) as r:
            return await r.json()


async def test_the_same_seed_plays_the_same_session() -> None:
    truths = []
    for _ in range(2):
        async with Simulator(SimConfig(residents=15)) as sim:
            # local account URIs contain the (ephemeral) port; everything else must be identical
            truths.append((await sim.play(BACKDATED)).model_dump_json().replace(sim.base_url, "BASE"))
    async with Simulator(SimConfig(residents=15)) as sim:
        other = await sim.play(BACKDATED.model_copy(update={"seed": 4}))
    assert truths[0] == truths[1]  # backdated: even the ids are the same
    assert other.totals("main") != GroundTruth.model_validate_json(truths[0]).totals("main")


async def test_backdated_statuses_lie_in_the_past_across_the_dst_change_in_id_order(sim: Simulator) -> None:
    await sim.play(BACKDATED)
    statuses = sorted(sim.world.statuses.values(), key=lambda s: int(s.id))
    times = [s.created_at for s in statuses if s.created_at.year > 2024]
    assert times == sorted(times)
    assert times[0] < datetime(2025, 10, 26, 1, 0, tzinfo=timezone.utc) < times[-1]  # 03:00 CEST -> 02:00 CET
    newest = next(s for s in reversed(statuses) if s.live and s.reblog_of_id is None)
    body = await get_json(sim, f"/api/v1/statuses/{newest.id}")
    assert body["created_at"] == newest.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_quiet_nested_replies_are_found_only_through_thread_context(sim: Simulator) -> None:
    truth = await sim.play(Scenario(events=120, seed=8, quiet_reply_share=1.0, delete_share=0, edit_share=0))
    main = truth.channels["main"]
    city = sim.channel_ids["main"]
    found: set[str] = set()
    posts = await get_json(sim, f"/api/v1/accounts/{city}/statuses", exclude_replies="true", limit="40")
    for post in posts:
        ctx = await get_json(sim, f"/api/v1/statuses/{post['id']}/context")
        found |= {s["id"] for s in ctx["descendants"] if s["account"]["id"] != city}
    notified = {n["status"]["id"] for n in await get_json(sim, "/api/v1/notifications", limit="80")
                if n["type"] == "mention"}
    assert found == set(main.kinds["reply"].source_ids)
    assert notified & found < found  # the quiet ones never notified the city


async def test_post_counters_over_rest_match_the_ground_truth_after_withdrawals(sim: Simulator) -> None:
    truth = await sim.play(Scenario(events=150, seed=21, withdraw_share=0.15))
    main = truth.channels["main"]
    for post in main.posts:
        body = await get_json(sim, f"/api/v1/statuses/{post.post_id}")
        assert (body["favourites_count"], body["reblogs_count"], body["quotes_count"], body["replies_count"]) == (
            post.favourites, post.reblogs, post.quotes, post.replies_count)
    assert sum(p.favourites for p in main.posts) == main.count("favourite")
    assert sum(p.replies for p in main.posts) == main.count("reply")
    assert sum(p.quotes for p in main.posts) == main.count("quote")


async def test_each_channel_has_its_own_token_notifications_and_truth() -> None:
    async with Simulator(SimConfig(residents=15, channels=TWO_CHANNELS)) as sim:
        truth = await sim.play(Scenario(events=150, seed=2))
        me = await get_json(sim, "/api/v1/accounts/verify_credentials", token="zuid-token")
        page = await get_json(sim, "/api/v1/notifications", token="zuid-token", limit="80",
                              **{"types[]": "follow"})
    zuid = truth.channels["zuid"]
    assert me["id"] == zuid.account_id != truth.channels["main"].account_id
    assert tuple(sorted((n["id"] for n in page), key=int)) == zuid.kinds["follow"].source_ids
    assert zuid.count("reply") > 0 and truth.count("main", "reply") > 0


async def test_the_hashtag_stream_and_the_tag_timeline_show_the_same_statuses(sim: Simulator) -> None:
    headers = {"Authorization": f"Bearer {sim.token()}"}
    url = f"{sim.streaming_url}/api/v1/streaming?stream=hashtag&tag=vraagvandegemeente"
    async with websockets.connect(url, additional_headers=headers) as ws:
        await asyncio.sleep(0.05)
        await sim.play(Scenario(events=100, seed=9, delete_share=0.1))
        streamed: dict[str, str] = {}
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                sid = frame["payload"] if frame["event"] == "delete" else json.loads(frame["payload"])["id"]
                streamed[sid] = frame["event"]
        except asyncio.TimeoutError:
            pass
    timeline = await get_json(sim, "/api/v1/timelines/tag/vraagvandegemeente", limit="40")
    assert {s for s, ev in streamed.items() if ev != "delete"} == {s["id"] for s in timeline}


async def test_a_background_scenario_paces_itself_and_reports_progress(sim: Simulator) -> None:
    task = sim.start_scenario(Scenario(events=12, rate=60))
    await asyncio.sleep(0.05)
    assert not task.done() and 0 < sim.progress()["applied"] < 12
    truth = await task
    progress = await get_json(sim, "/_sim/progress")
    assert progress["done"] and progress["applied"] == truth.actions == 12


async def test_mastodon_py_finds_the_streaming_host_through_the_instance(sim: Simulator) -> None:
    def ask() -> str:
        m = Mastodon(api_base_url=sim.base_url, access_token=sim.token(), version_check_mode="none")
        return m.instance_v2()["configuration"]["urls"]["streaming"]

    assert await asyncio.to_thread(ask) == sim.streaming_url


def test_the_ground_truth_file_round_trips(tmp_path: Path) -> None:
    async def run() -> GroundTruth:
        async with Simulator(SimConfig(residents=10)) as sim:
            return await sim.play(Scenario(events=40, seed=1))

    truth = asyncio.run(run())
    truth.write(tmp_path / "truth.json")
    assert GroundTruth.model_validate_json((tmp_path / "truth.json").read_text()) == truth


def test_the_simulate_command_plays_writes_the_truth_and_never_prints_a_user_token(tmp_path: Path) -> None:
    from ingester.cli import app

    out = tmp_path / "truth.json"
    result = CliRunner().invoke(
        app, ["simulate", "--events", "30", "--rate", "0", "--exit-when-done", "--ground-truth", str(out)],
        env={"MASTODON_ACCESS_TOKEN": "personal-secret-token-123"},
    )
    assert result.exit_code == 0, result.output
    assert "personal-secret-token-123" not in result.output
    assert "MASTODON_BASE_URL=http://127.0.0.1:" in result.output
    assert GroundTruth.model_validate_json(out.read_text()).actions == 30
