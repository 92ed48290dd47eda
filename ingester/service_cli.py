"""`ingester run` and `ingester check`: the service's own subcommands (registered into ingester.cli)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

import typer

from ingester.settings import Settings, SettingsError, load_settings


def _fail(message: str, code: int) -> None:
    typer.echo(f"ingester: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        settings = load_settings()
        settings.channels()  # validates the channel variables too
        settings.report_delivery()  # and the weekly report's mail settings
        return settings
    except SettingsError as exc:
        _fail(str(exc), 2)
        raise  # unreachable


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
        help="When no MASTODON_ACCESS_TOKEN is set, start the built-in simulator and ingest from it (demo stacks).",
    ),
) -> None:
    """Run the ingester in the foreground until SIGTERM/SIGINT (then flush, save cursors, exit 0)."""
    from ingester.observability import configure_logging
    from ingester.redact import Redactor
    from ingester.runner import Service, tune_gc
    from ingester.service import Fatal, ServiceConfig

    if simulate:
        from ingester.demo import run_with_simulator

        code = run_with_simulator()
        if code >= 0:
            sys.exit(code)
    settings = _settings()
    redactor = Redactor.from_settings(settings)
    configure_logging(settings.pulse_log_format, redactor)  # type: ignore[arg-type]
    cfg = ServiceConfig.from_settings(settings)
    tune_gc()  # the process is the service from here on
    try:
        summary = asyncio.run(_until_signal(Service(cfg, settings.retention(), settings.report_delivery()).run))
    except Fatal as exc:
        _fail(redactor.scrub(str(exc)), 3)
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
