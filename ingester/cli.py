"""The `ingester` command line. Each subcommand builds its settings at the edge and hands each part
only what it needs. Errors the user can fix print one line and exit non-zero; no tracebacks."""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import typer

from ingester.settings import SettingsError, database_url_only

app = typer.Typer(
    name="ingester",
    help="Praatmee Pulse: engagement analytics for public-sector Mastodon channels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("praatmee-pulse")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ingester (praatmee-pulse) {version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                  help="Print the version and exit."),
) -> None:
    """Praatmee Pulse: engagement analytics for public-sector Mastodon channels."""


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"ingester: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply the SQL migrations and views in schema/ (safe to run twice, or concurrently)."""
    from ingester.migrate import MigrationError
    from ingester.migrate import migrate as run_migrate

    import os
    from zoneinfo import ZoneInfo

    import psycopg

    from ingester.formats import FormatMapError, apply_formats, parse_formats

    try:
        dsn = database_url_only()
        tz = os.environ.get("PULSE_TIMEZONE") or None
        if tz:
            try:
                ZoneInfo(tz)
            except (KeyError, ValueError):
                raise SettingsError(f"PULSE_TIMEZONE: unknown timezone {tz!r}") from None
        try:
            formats = parse_formats(os.environ.get("PULSE_FORMATS"))
        except FormatMapError as exc:
            raise SettingsError(f"PULSE_FORMATS: {exc}") from None
        result = run_migrate(dsn, timezone=tz)
        with psycopg.connect(dsn) as conn:
            apply_formats(conn, formats)  # the setting is the source of truth for the map
    except SettingsError as exc:
        fail(str(exc), 2)
    except MigrationError as exc:
        fail(str(exc), 1)
    typer.echo(f"database tier: {result.tier.describe()}")
    typer.echo(
        f"migrations applied: {len(result.applied)}"
        + (f" ({', '.join(result.applied)})" if result.applied else " (up to date)")
        + f"; views refreshed: {len(result.views)}"
    )


# Subcommands that live beside the code they drive. Each module exposes `register(app)`.
_PLUGINS = (
    "ingester.service_cli",
    "ingester.demo",
    "ingester.simulator.command",
    "ingester.export",
    "ingester.grafana.command",
)


def _register_plugins() -> None:
    for name in _PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name + ".").startswith(exc.name + "."):  # not built (yet)
                continue
            raise
        module.register(app)


_register_plugins()


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"ingester: {exc}", err=True)
        sys.exit(2)
