"""The `ingester` command line. Each subcommand builds its settings at the edge and hands each part
only what it needs. Errors the user can fix print one line and exit non-zero; no tracebacks."""

from __future__ import annotations

import importlib
import typer
from typer.core import TyperGroup

from ingester.settings import SettingsError

from ingester.exits import EXIT_FAILURE, EXIT_OK, EXIT_SETTINGS, fail  # noqa: F401  (re-exported)


class _Commands(TyperGroup):
    """Every subcommand runs through here: a `SettingsError` from any of them is printed, one
    `ingester: ` line per problem, and ends the command with exit code 2. Commands let it propagate
    instead of catching and printing it each."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            typer.echo(f"ingester: {exc}", err=True)
            raise typer.Exit(EXIT_SETTINGS) from None


app = typer.Typer(
    cls=_Commands,
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


@app.command()
def migrate() -> None:
    """Apply the SQL migrations and views in schema/ (safe to run twice, or concurrently)."""
    import sys

    import psycopg

    from ingester.formats import FormatMapError, apply_formats, parse_formats
    from ingester.migrate import MigrationError, connect_failure
    from ingester.migrate import migrate as run_migrate
    from ingester.progress import ProgressLine
    from ingester.settings import database_settings

    cfg = database_settings()
    try:
        formats = parse_formats(cfg.pulse_formats)
    except FormatMapError as exc:
        fail(f"PULSE_FORMATS: {exc}", EXIT_SETTINGS)
    try:
        # Long steps (rebuilding structures from the stored events after an upgrade) say how far they are.
        with ProgressLine(sys.stderr) as progress:
            result = run_migrate(cfg.dsn(), timezone=cfg.pulse_timezone, tier=cfg.pulse_tier, progress=progress)
        try:
            with psycopg.connect(cfg.dsn(), connect_timeout=10) as conn:
                apply_formats(conn, formats)  # the setting is the source of truth for the map
        except psycopg.OperationalError as exc:
            raise MigrationError(f"DATABASE_URL: {connect_failure(exc)}") from None
    except MigrationError as exc:
        fail(str(exc))
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
    "ingester.report.command",
    "ingester.qr.command",
    "ingester.web.command",
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
    app()
