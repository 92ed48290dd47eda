"""The simulator's web host, driven by real clients (Mastodon.py and aiohttp) over real sockets."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import aiohttp
import pytest
from mastodon import Mastodon, MastodonRatelimitError

from ingester.simulator import RateLimits, Scenario, SimConfig, Simulator, TokenSpec
from tests.conftest import MASTODON, corpus

ENTITIES = MASTODON / "entities"


def load(name: str) -> dict:
    return json.loads((ENTITIES / name).read_text())


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    cfg = SimConfig(residents=12, extra_tokens=(TokenSpec(token="no-notifications", channel="main",
                                                          scopes=("read:statuses", "read:accounts")),))
    async with Simulator(cfg) as s:
        yield s


def client(sim: Simulator, **kw: object) -> Mastodon:
    return Mastodon(api_base_url=sim.base_url, access_token=sim.token(), version_check_mode="none", **kw)


async def get(sim: Simulator, path: str, token: str | None = "default", **params: str) -> tuple[int, dict, object]:
    headers = {"Authorization": f"Bearer {sim.token() if token == 'default' else token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.get(sim.base_url + path, params=params, headers=headers, allow_redirects=False) as r:
            body = await r.text()
            return r.status, dict(r.headers), (json.loads(body) if body and r.content_type == "application/json" else body)


def mention_burst(sim: Simulator, n: int) -> list[str]:
    """n local residents mention the channel; returns the notification ids, oldest first."""
    world, city = sim.world, sim.channel_ids["main"]
    assert world is not None
    local = [r for r in sim.residents if r.domain is None]
    before = len(world.notifications)
    for i in range(n):
        world.post(local[i % len(local)].id, f"vraag {i}", mentions=(city,))
    return [x.id for x in world.notifications[before:]]


@corpus
async def test_instance_v2_points_clients_to_a_separate_streaming_host(sim: Simulator) -> None:
    status, _, body = await get(sim, "/api/v2/instance", token=None)
    real = load("instance-v2-local.json")
    assert status == 200 and body.keys() == real.keys()
    assert body["configuration"].keys() == real["configuration"].keys()
    assert body["configuration"]["urls"]["streaming"] == sim.streaming_url != sim.base_url.replace("http", "ws")
    _, _, v1 = await get(sim, "/api/v1/instance", token=None)
    assert v1.keys() == load("instance-v1-local.json").keys()
    assert v1["urls"]["streaming_api"] == sim.streaming_url


async def test_streaming_on_the_web_host_redirects_permanently_to_the_streaming_host(sim: Simulator) -> None:
    status, headers, _ = await get(sim, "/api/v1/streaming", stream="user")
    assert status == 301
    assert headers["Location"] == sim.streaming_http_url + "/api/v1/streaming?stream=user"


@corpus
async def test_verify_credentials_returns_the_channel_as_a_credential_account(sim: Simulator) -> None:
    me = await asyncio.to_thread(lambda: client(sim).account_verify_credentials())
    assert me["acct"] == "gemeenteamsterdam" and me["id"] == sim.channel_ids["main"]
    status, _, body = await get(sim, "/api/v1/accounts/verify_credentials")
    assert body.keys() == load("account-verify-credentials.json").keys()


async def test_a_wrong_token_gets_401_with_the_doorkeeper_challenge(sim: Simulator) -> None:
    status, headers, body = await get(sim, "/api/v1/notifications", token="nope")
    assert status == 401 and body == {"error": "The access token is invalid"}
    assert headers["WWW-Authenticate"] == (
        'Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid"')
    assert headers["X-RateLimit-Limit"] == "300"


async def test_a_token_without_the_scope_gets_403(sim: Simulator) -> None:
    status, _, body = await get(sim, "/api/v1/notifications", token="no-notifications")
    assert status == 403 and body == {"error": "This action is outside the authorized scopes"}


async def test_a_token_is_only_read_from_the_authorization_header(sim: Simulator) -> None:
    status, _, _ = await get(sim, "/api/v1/notifications", token=None, access_token=sim.token())
    assert status == 401


@corpus
async def test_notifications_have_the_shape_of_the_real_v1_payload(sim: Simulator) -> None:
    mention_burst(sim, 1)
    _, _, page = await get(sim, "/api/v1/notifications")
    real = load("notification-mention.json")
    (n,) = page
    assert n.keys() == real.keys() and n["group_key"] == f"ungrouped-{n['id']}"
    assert n["status"].keys() == real["status"].keys()
    assert n["account"].keys() == real["account"].keys()
    assert n["status"]["account"].keys() == real["status"]["account"].keys()


@corpus
async def test_statuses_have_the_shape_of_the_real_status_payloads(sim: Simulator) -> None:
    world = sim.world
    post = world.post(sim.channel_ids["main"], "vraag", tags=("qena",))
    remote = next(r for r in sim.residents if r.domain)
    reply = world.post(remote.id, "antwoord", in_reply_to=post.id, mentions=(sim.channel_ids["main"],))
    _, _, local = await get(sim, f"/api/v1/statuses/{post.id}")
    _, _, body = await get(sim, f"/api/v1/statuses/{reply.id}")
    # `pinned` only appears on one's own statuses listed by account; a remote status has no `application`.
    assert local.keys() == load("status-reply.json").keys() - {"pinned"}
    assert body.keys() == load("status-quote.json").keys()
    assert body["account"]["acct"] == f"{remote.username}@{remote.domain}"
    assert body["in_reply_to_account_id"] == sim.channel_ids["main"]
    assert local["tags"] == [{"name": "qena", "url": f"{sim.base_url}/tags/qena"}]
    assert local["replies_count"] == 1


async def test_a_quote_carries_the_accepted_quoted_status(sim: Simulator) -> None:
    world = sim.world
    post = world.post(sim.channel_ids["main"], "vraag")
    quote = world.post(sim.residents[0].id, "lees dit", quote_id=post.id)
    _, _, body = await get(sim, f"/api/v1/statuses/{quote.id}")
    assert body["quote"]["state"] == "accepted" and body["quote"]["quoted_status"]["id"] == post.id
    _, _, page = await get(sim, "/api/v1/notifications")
    assert [(n["type"], n["status"]["id"]) for n in page] == [("quote", quote.id)]
    _, _, original = await get(sim, f"/api/v1/statuses/{post.id}")
    assert original["quotes_count"] == 1


async def test_paging_forward_with_min_id_sees_every_notification_once(sim: Simulator) -> None:
    ids = mention_burst(sim, 95)

    def walk() -> list[str]:
        m = client(sim)
        seen: list[str] = []
        page = m.notifications(min_id=0, limit=30)
        while page:
            seen += [str(n["id"]) for n in reversed(page)]
            page = m.fetch_previous(page)
        return seen

    assert await asyncio.to_thread(walk) == ids


async def test_paging_backwards_follows_next_links_to_the_oldest(sim: Simulator) -> None:
    ids = mention_burst(sim, 45)

    def walk() -> list[str]:
        m = client(sim)
        return [str(n["id"]) for n in m.fetch_remaining(m.notifications(limit=20))]

    assert await asyncio.to_thread(walk) == ids[::-1]


async def test_link_header_keeps_limit_and_type_filters_with_both_cursors(sim: Simulator) -> None:
    mention_burst(sim, 5)
    status, headers, page = await get(sim, "/api/v1/notifications", limit="2", **{"types[]": "mention"})
    first, last = page[0]["id"], page[-1]["id"]
    base = f"{sim.base_url}/api/v1/notifications"
    assert headers["Link"] == (
        f'<{base}?limit=2&max_id={last}&types%5B%5D=mention>; rel="next", '
        f'<{base}?limit=2&min_id={first}&types%5B%5D=mention>; rel="prev"')


async def test_an_empty_page_has_no_link_header(sim: Simulator) -> None:
    ids = mention_burst(sim, 3)
    status, headers, page = await get(sim, "/api/v1/notifications", min_id=ids[-1])
    assert status == 200 and page == [] and "Link" not in headers


async def test_since_id_returns_the_newest_page_and_leaves_a_gap_where_min_id_does_not(sim: Simulator) -> None:
    ids = mention_burst(sim, 10)
    cursor = ids[1]
    _, _, newest = await get(sim, "/api/v1/notifications", since_id=cursor, limit="3")
    _, _, after = await get(sim, "/api/v1/notifications", min_id=cursor, since_id=ids[8], limit="3")
    assert [n["id"] for n in newest] == ids[9:6:-1]  # newest first; ids[2..6] skipped
    assert [n["id"] for n in after] == ids[4:1:-1]  # min_id wins over since_id


async def test_limit_defaults_to_40_and_is_clamped_to_80(sim: Simulator) -> None:
    mention_burst(sim, 90)
    _, _, default = await get(sim, "/api/v1/notifications")
    _, _, clamped = await get(sim, "/api/v1/notifications", limit="500")
    assert (len(default), len(clamped)) == (40, 80)


async def test_notification_type_filters_include_and_exclude(sim: Simulator) -> None:
    world, city = sim.world, sim.channel_ids["main"]
    post = world.post(city, "vraag")
    world.favourite(sim.residents[0].id, post.id)
    world.follow(sim.residents[1].id, city)
    mention_burst(sim, 1)
    _, _, only = await get(sim, "/api/v1/notifications", **{"types[]": "follow"})
    _, _, without = await get(sim, "/api/v1/notifications", **{"exclude_types[]": "mention"})
    assert [n["type"] for n in only] == ["follow"]
    assert [n["type"] for n in without] == ["follow", "favourite"]
    assert only[0]["group_key"].startswith("follow-") and "status" not in only[0]


async def test_withdrawn_favourites_and_deleted_statuses_leave_the_notifications(sim: Simulator) -> None:
    world, city = sim.world, sim.channel_ids["main"]
    post = world.post(city, "vraag")
    fan, critic = sim.residents[0].id, sim.residents[1].id
    world.favourite(fan, post.id)
    reply = world.post(critic, "nee", in_reply_to=post.id, mentions=(city,))
    world.unfavourite(fan, post.id)
    world.delete(reply.id)
    _, _, page = await get(sim, "/api/v1/notifications")
    _, _, body = await get(sim, f"/api/v1/statuses/{post.id}")
    status, _, gone = await get(sim, f"/api/v1/statuses/{reply.id}")
    assert page == []
    assert (body["favourites_count"], body["replies_count"]) == (0, 0)
    assert (status, gone) == (404, {"error": "Not Found"})


async def test_context_lists_descendants_depth_first(sim: Simulator) -> None:
    world, city = sim.world, sim.channel_ids["main"]
    a, b = sim.residents[0].id, sim.residents[1].id
    root = world.post(city, "vraag")
    r1 = world.post(a, "1", in_reply_to=root.id)
    r2 = world.post(b, "2", in_reply_to=root.id)
    r11 = world.post(b, "1.1", in_reply_to=r1.id)
    r111 = world.post(a, "1.1.1", in_reply_to=r11.id)
    _, _, ctx = await get(sim, f"/api/v1/statuses/{root.id}/context")
    _, _, deep = await get(sim, f"/api/v1/statuses/{r111.id}/context")
    assert [s["id"] for s in ctx["descendants"]] == [r1.id, r11.id, r111.id, r2.id]
    assert [s["id"] for s in deep["ancestors"]] == [root.id, r1.id, r11.id] and deep["descendants"] == []


async def test_account_statuses_and_tag_timeline_page_with_links(sim: Simulator) -> None:
    world, city = sim.world, sim.channel_ids["main"]
    posts = [world.post(city, f"post {i}", tags=("qena",)) for i in range(5)]
    _, headers, page = await get(sim, f"/api/v1/accounts/{city}/statuses", limit="2")
    _, _, tagged = await get(sim, "/api/v1/timelines/tag/QenA", min_id=posts[0].id, limit="2")
    assert [s["id"] for s in page] == [posts[4].id, posts[3].id]
    assert f"max_id={posts[3].id}" in headers["Link"]
    assert [s["id"] for s in tagged] == [posts[2].id, posts[1].id]


async def test_favourited_by_links_use_internal_row_ids(sim: Simulator) -> None:
    world = sim.world
    post = world.post(sim.channel_ids["main"], "vraag")
    rows = [world.favourite(r.id, post.id) for r in sim.residents[:3]]
    _, headers, accounts = await get(sim, f"/api/v1/statuses/{post.id}/favourited_by")
    assert [a["id"] for a in accounts] == [r.account_id for r in reversed(rows)]
    assert f"min_id={rows[-1].id}>" in headers["Link"] and f"max_id={rows[0].id}>" in headers["Link"]


async def test_every_answer_carries_rate_limit_headers_with_an_aligned_reset(sim: Simulator) -> None:
    _, headers, _ = await get(sim, "/api/v1/notifications")
    reset = headers["X-RateLimit-Reset"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", reset)
    when = datetime.strptime(reset, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert int(when.timestamp()) % 300 == 0  # end of a fixed 5-minute window
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("300", "299")


async def test_exhausted_budget_answers_429_without_retry_after() -> None:
    cfg = SimConfig(residents=2, rate_limits=RateLimits(api_limit=3, paging_limit=2, paging_period=60))
    async with Simulator(cfg) as sim:
        answers = [await get(sim, "/api/v1/notifications", min_id="0") for _ in range(3)]
        status, headers, body = answers[-1]
        assert [a[0] for a in answers] == [200, 200, 429]  # the paging throttle (2) bites first
        assert body == {"error": "Too many requests"}
        assert headers["X-RateLimit-Remaining"] == "0" and "Retry-After" not in headers
        assert headers["X-RateLimit-Limit"] == "2"

        def throw() -> None:
            client(sim, ratelimit_method="throw").notifications()

        with pytest.raises(MastodonRatelimitError):
            await asyncio.to_thread(throw)


async def test_injected_rest_failures_hit_the_next_requests_and_are_counted(sim: Simulator) -> None:
    sim.faults.fail_rest(status=503, count=2)
    statuses = [(await get(sim, "/api/v1/notifications"))[0] for _ in range(3)]
    sim.faults.fail_rest(status=429, count=1)
    status, headers, body = await get(sim, "/api/v1/notifications")
    assert statuses == [503, 503, 200]
    assert (status, headers["X-RateLimit-Remaining"], body) == (429, "0", {"error": "Too many requests"})
    assert sim.faults.snapshot() == {"rest_503": 2, "rest_429": 1}


async def test_the_control_api_injects_faults_over_http(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sim.base_url}/_sim/fail", params={"status": "502", "count": "1"}) as r:
            assert r.status == 200
        async with http.post(f"{sim.base_url}/_sim/fail", params={"status": "418"}) as r:
            assert r.status == 400 and "status must be one of" in (await r.json())["error"]
    assert (await get(sim, "/api/v1/notifications"))[0] == 502
    _, _, progress = await get(sim, "/_sim/progress", token=None)
    assert progress["done"] is False and progress["applied"] == 0


async def test_scenario_notifications_replayed_over_rest_match_the_ground_truth(sim: Simulator) -> None:
    truth = await sim.play(Scenario(events=150, seed=11, withdraw_share=0.1, delete_share=0.08))

    def walk() -> list[dict]:
        m = client(sim)
        out: list[dict] = []
        page = m.notifications(min_id=0, limit=80)
        while page:
            out += page
            page = m.fetch_previous(page)
        return out

    seen = await asyncio.to_thread(walk)
    main = truth.channels["main"]
    for kind in ("favourite", "reblog", "follow"):
        assert tuple(sorted((str(n["id"]) for n in seen if n["type"] == kind), key=int)) == (
            main.kinds[kind].source_ids)
    quote_status_ids = sorted((str(n["status"]["id"]) for n in seen if n["type"] == "quote"), key=int)
    assert tuple(quote_status_ids) == main.kinds["quote"].source_ids
    mentioned = {str(n["status"]["id"]) for n in seen if n["type"] == "mention"}
    assert set(main.kinds["mention"].source_ids) <= mentioned <= (
        set(main.kinds["mention"].source_ids) | set(main.kinds["reply"].source_ids))
