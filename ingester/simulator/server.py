"""`Simulator`: the world, the web host, the streaming host, faults and scenarios wired together."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

from aiohttp import web

from ingester.simulator import control, truth
from ingester.simulator.auth import Grant
from ingester.simulator.config import SimConfig
from ingester.simulator.faults import Faults
from ingester.simulator.ratelimit import RateLimiter
from ingester.simulator.records import AccountRow
from ingester.simulator.rest import RestHost
from ingester.simulator.scenario import Player, Scenario, play
from ingester.simulator.streaming import Hub, StreamingHost
from ingester.simulator.world import World

FIRST_NAMES = ("anouk", "bram", "daan", "emma", "fatima", "jan", "julia", "lars", "lotte", "mohammed",
               "noor", "pieter", "sanne", "sem", "sophie", "thijs", "yara", "zeynep", "ruben", "iris")
REMOTE_DOMAINS = ("mastodon.social", "mastodon.nl", "mas.to", "social.amsterdam.example")


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class Simulator:
    """A Mastodon server on localhost. Use `async with Simulator(cfg) as sim:` or start()/stop()."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.hub = Hub()
        self.faults = Faults(self.hub)
        self.limiter = RateLimiter(self.config.rate_limits)
        self.world: World | None = None
        self.channel_ids: dict[str, str] = {}  # channel name -> account id
        self.residents: list[AccountRow] = []
        self._grants: dict[str, Grant] = {}
        self._runners: list[web.AppRunner] = []
        self._player: Player | None = None
        self._scenario_task: asyncio.Task[truth.GroundTruth] | None = None
        self.base_url = self.streaming_url = ""

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        web_sock, stream_sock = _listen(cfg.host, cfg.port), _listen(cfg.host, cfg.streaming_port)
        self.base_url = f"http://{cfg.host}:{web_sock.getsockname()[1]}"
        self.streaming_url = f"ws://{cfg.host}:{stream_sock.getsockname()[1]}"
        self.world = World(self.base_url, self.hub.publish)
        self._populate()
        rest = RestHost(self.world, self.grant, self.limiter, self.faults, lambda: self.streaming_url)
        streaming = StreamingHost(self.hub, self.faults, self.grant, cfg.ping_interval, cfg.sse_heartbeat)
        for app, sock in ((rest.app(control.routes(self)), web_sock), (streaming.app(), stream_sock)):
            runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            self._runners.append(runner)
        self.rest = rest

    async def stop(self) -> None:
        if self._scenario_task is not None and not self._scenario_task.done():
            self._scenario_task.cancel()
        await self.faults.close()
        self.hub.drop_all()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _populate(self) -> None:
        assert self.world is not None
        for ch in self.config.channels:
            acc = self.world.add_account(ch.username, display_name=ch.display_name, channel=True)
            self.channel_ids[ch.name] = acc.id
            self._grants[ch.token] = Grant(ch.token, acc.id, ch.name, frozenset(ch.scopes))
        for extra in self.config.extra_tokens:
            self._grants[extra.token] = Grant(
                extra.token, self.channel_ids[extra.channel], extra.channel, frozenset(extra.scopes))
        rng = random.Random(self.config.seed)
        for i in range(self.config.residents):
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]}{i // len(FIRST_NAMES) or ''}"
            domain = rng.choice(REMOTE_DOMAINS) if rng.random() < self.config.remote_share else None
            self.residents.append(self.world.add_account(name, domain=domain, display_name=name.title()))

    # -- accessors -----------------------------------------------------------------------

    def grant(self, token: str) -> Grant | None:
        return self._grants.get(token)

    def token(self, channel: str | None = None) -> str:
        """The access token of a channel (default: the first)."""
        name = channel or self.config.channels[0].name
        return next(c.token for c in self.config.channels if c.name == name)

    def channel_account(self, channel: str | None = None) -> AccountRow:
        assert self.world is not None, "start() first"
        return self.world.account(self.channel_ids[channel or self.config.channels[0].name])

    @property
    def streaming_http_url(self) -> str:
        return self.streaming_url.replace("ws://", "http://", 1)

    # -- scenarios -----------------------------------------------------------------------

    def start_scenario(self, scenario: Scenario) -> asyncio.Task[truth.GroundTruth]:
        """Play in the background; the task's result is the ground truth."""
        if self._scenario_task is not None and not self._scenario_task.done():
            raise RuntimeError("a scenario is already playing")
        assert self.world is not None, "start() first"
        self._player = Player(self.world, list(self.channel_ids.values()),
                              [r.id for r in self.residents], scenario)
        self._scenario_task = asyncio.get_running_loop().create_task(self._run(self._player))
        return self._scenario_task

    async def play(self, scenario: Scenario) -> truth.GroundTruth:
        return await self.start_scenario(scenario)

    async def _run(self, player: Player) -> truth.GroundTruth:
        await play(player)
        return self.ground_truth()

    def ground_truth(self) -> truth.GroundTruth:
        assert self.world is not None, "start() first"
        p = self._player
        return truth.compute(self.world, self.channel_ids, seed=p.scenario.seed if p else None,
                             actions=p.applied if p else 0)

    def progress(self) -> dict[str, Any]:
        p = self._player
        done = self._scenario_task is not None and self._scenario_task.done()
        return {
            "applied": p.applied if p else 0,
            "events": p.scenario.events if p else 0,
            "done": done,
            "kinds": dict(p.kinds) if p else {},
            "open_sockets": len(self.hub.connections),
            "rest_requests": self.rest.requests if hasattr(self, "rest") else 0,
        }
