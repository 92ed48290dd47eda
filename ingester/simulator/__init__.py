"""A Mastodon server on localhost for tests, the demo and benchmarks.

It speaks the protocol recorded in `shared/mastodon/` (REST on a web host, WebSocket + SSE on a
separate streaming host), plays deterministic scenarios, injects faults and knows the ground truth
that `kpi.engagements` must show afterwards.

    sim = Simulator(SimConfig())
    await sim.start()
    await sim.play(Scenario(events=200, seed=7))
    truth = sim.ground_truth()
    await sim.stop()
"""

from __future__ import annotations

from ingester.simulator.config import ChannelSpec, RateLimits, SimConfig, TokenSpec
from ingester.simulator.scenario import Scenario
from ingester.simulator.server import Simulator
from ingester.simulator.truth import ChannelTruth, GroundTruth, KindTruth, PostTruth

__all__ = [
    "ChannelSpec",
    "ChannelTruth",
    "GroundTruth",
    "KindTruth",
    "PostTruth",
    "RateLimits",
    "Scenario",
    "SimConfig",
    "Simulator",
    "TokenSpec",
]
