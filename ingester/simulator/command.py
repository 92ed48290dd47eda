"""`ingester simulate`: run the Mastodon simulator on localhost (for the demo and manual testing)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Optional

import typer

from ingester.simulator.config import DEV_TOKEN, ChannelSpec, RateLimits, SimConfig
from ingester.simulator.scenario import Scenario
from ingester.simulator.server import Simulator


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        host: str = typer.Option("127.0.0.1", help="Address to bind both listeners to."),
        port: int = typer.Option(0, min=0, max=65535, help="Web (REST) port; 0 = any free port."),
        streaming_port: int = typer.Option(0, min=0, max=65535, help="Streaming port; 0 = any free port."),
        token: Optional[str] = typer.Option(
            None, help="Access token of the channel account [default: $MASTODON_ACCESS_TOKEN or a dev token]."),
        second_channel: bool = typer.Option(False, help="Add a second city account with its own token."),
        events: int = typer.Option(200, min=0, help="Scenario actions to play (0 = none)."),
        rate: float = typer.Option(5.0, min=0, help="Actions per second (0 = as fast as possible)."),
        seed: int = typer.Option(1, help="Scenario seed (same seed, same session)."),
        quiet_reply_share: float = typer.Option(0.0, min=0, max=1, help="Nested replies not mentioning the city."),
        withdraw_share: float = typer.Option(0.0, min=0, max=1, help="Un-favourites / un-boosts."),
        delete_share: float = typer.Option(0.03, min=0, max=1),
        edit_share: float = typer.Option(0.04, min=0, max=1),
        ping_interval: float = typer.Option(30.0, min=0.01, help="WebSocket ping interval (s)."),
        rate_limit: int = typer.Option(300, min=1, help="REST requests per token per 5 minutes."),
        drop_every: float = typer.Option(0.0, min=0, help="Drop every streaming socket every N seconds (0 = never)."),
        ground_truth: Optional[Path] = typer.Option(None, help="Write the ground truth JSON here when done."),
        exit_when_done: bool = typer.Option(False, help="Exit after the scenario instead of serving on."),
    ) -> None:
        """Run a simulated Mastodon server (REST + streaming) that plays a city engagement scenario."""
        env_token = os.environ.get("MASTODON_ACCESS_TOKEN")
        main_token = token or env_token or DEV_TOKEN
        channels = [ChannelSpec(token=main_token)]
        if second_channel:
            channels.append(ChannelSpec(name="zuid", username="gemeenteamsterdamzuid",
                                        display_name="Stadsdeel Zuid", token=DEV_TOKEN + "-zuid"))
        config = SimConfig(
            host=host, port=port, streaming_port=streaming_port, channels=tuple(channels),
            ping_interval=ping_interval, rate_limits=RateLimits(api_limit=rate_limit),
        )
        scenario = Scenario(
            events=max(events, 1), rate=rate or None, seed=seed, quiet_reply_share=quiet_reply_share,
            withdraw_share=withdraw_share, delete_share=delete_share, edit_share=edit_share,
        )
        # Only a token this command made up may be printed; a user's own token never is.
        shown = main_token if main_token == DEV_TOKEN else "<your MASTODON_ACCESS_TOKEN>"
        try:
            asyncio.run(_serve(config, scenario if events else None, ground_truth, exit_when_done,
                               drop_every, shown))
        except OSError as exc:
            typer.echo(f"ingester: cannot listen on {host}: {exc.strerror}", err=True)
            raise typer.Exit(1) from None


async def _serve(
    config: SimConfig, scenario: Scenario | None, truth_file: Path | None, exit_when_done: bool,
    drop_every: float, shown_token: str,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with Simulator(config) as sim:
        typer.echo(f"web (REST):  {sim.base_url}")
        typer.echo(f"streaming:   {sim.streaming_url}")
        typer.echo(f"export MASTODON_BASE_URL={sim.base_url}")
        typer.echo(f"export MASTODON_ACCESS_TOKEN={shown_token}")
        for ch in config.channels[1:]:
            typer.echo(f"channel {ch.name}: token {ch.token}")
        if drop_every:
            sim.faults.drop_every(drop_every)
        if scenario is not None:
            task = sim.start_scenario(scenario)
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                truth = task.result()
                typer.echo("scenario done: " + ", ".join(f"{k}={v}" for k, v in truth.totals(
                    config.channels[0].name).items()))
                if truth_file is not None:
                    truth.write(truth_file)
                    typer.echo(f"ground truth written to {truth_file}")
        if not exit_when_done and not stop.is_set():
            typer.echo("serving; Ctrl-C to stop")
            await stop.wait()
