"""`ingester run` and `ingester check`: the service's own subcommands (registered into ingester.cli)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from functools import partial

import typer

from ingester.exits import fail
from ingester.settings import Settings, load_settings


def _settings(*, simulate: bool = False) -> Settings:
    """Every setting checked at once; with `simulate`, a missing channel is fine (the simulator plays one).
    A `SettingsError` ends the command with exit code 2 (ingester.cli)."""
    if simulate:
        settings = load_settings()
        if not settings.simulating():
            settings.channels()  # a server without a token is an error, never a silent simulation
    else:
        settings = load_settings(require_channels=True)
    settings.report_delivery()  # the weekly report's mail settings, checked before anything starts
    return settings


async def _until_signal(body: Callable[[asyncio.Event], Awaitable[object]]) -> object:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await body(stop)


def run(
    simulate: bool = typer.Option(
        False,
        "--simulate",
        help="When no Mastodon server is configured at all (no MASTODON_BASE_URL, MASTODON_ACCESS_TOKEN or "
        "PULSE_CHANNELS), start the built-in simulator and ingest from it (demo stacks). The database records "
        "that it holds simulated data.",
    ),
    accept_simulated_data: bool = typer.Option(
        False,
        "--accept-simulated-data",
        help="Write real data into a database that has received simulated data (same as "
        "PULSE_ACCEPT_SIMULATED_DATA=true; not advised).",
    ),
) -> None:
    """Run the ingester in the foreground until SIGTERM/SIGINT (then flush, save cursors, exit 0)."""
    from ingester.observability import configure_logging
    from ingester.redact import Redactor
    from ingester.runner import Service, tune_gc
    from ingester.service import Fatal, ServiceConfig

    settings = _settings(simulate=simulate)
    if accept_simulated_data:
        settings = settings.model_copy(update={"pulse_accept_simulated_data": True})
    redactor = Redactor.from_settings(settings)
    configure_logging(settings.pulse_log_format, redactor)  # type: ignore[arg-type]
    body: Callable[[asyncio.Event], Awaitable[object]]
    if simulate and settings.simulating():
        from ingester.demo import serve_simulated_channel

        body = partial(serve_simulated_channel, settings)
    else:
        cfg = ServiceConfig.from_settings(settings)
        tune_gc()  # the process is the service from here on
        body = Service(cfg, settings.retention(), settings.report_delivery()).run
    try:
        summary = asyncio.run(_until_signal(body))
    except Fatal as exc:
        fail(redactor.scrub(str(exc)))
    typer.echo(f"ingester: {summary.line()}")  # type: ignore[attr-defined]


def check() -> None:
    """Check the token, the streaming server and the database: one line per check; non-zero on any failure."""
    from ingester.checks import run_checks

    settings = _settings()
    ok = asyncio.run(run_checks(settings, typer.echo))
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(check)
