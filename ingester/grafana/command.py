"""`ingester grafana …`: push the boards to a running Grafana, create Grafana's database login,
regenerate the provisioning files."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ingester.exits import EXIT_SETTINGS, fail
from ingester.grafana import alerts
from ingester.i18n import LANGUAGES, Language, parse_language

grafana_app = typer.Typer(help="Grafana boards, alerts and the reader login.", no_args_is_help=True)


_LANGUAGE_HELP = f"language of titles, texts and alert messages: {' or '.join(LANGUAGES)} (uids never change)"


def _language(value: str | None) -> Language:
    try:
        return parse_language(value)
    except ValueError:  # the message would echo the value; settings values are never echoed
        fail(f"PULSE_LANGUAGE/--language: unknown language — choose {' or '.join(LANGUAGES)}", EXIT_SETTINGS)


@grafana_app.command("push")
def push_command(
    url: Annotated[str, typer.Option(help="Grafana base URL, e.g. https://grafana.example.org")],
    db_host: Annotated[str, typer.Option(help="host:port of PostgreSQL as Grafana reaches it")],
    db_name: Annotated[str, typer.Option(help="database name")] = "pulse",
    db_user: Annotated[str, typer.Option(help="the pulse_reader login Grafana uses")] = "grafana_reader",
    db_sslmode: Annotated[str, typer.Option(help="disable | require | verify-ca | verify-full")] = "require",
    token: Annotated[str | None, typer.Option(envvar="GRAFANA_TOKEN", show_envvar=True,
                                              help="service account token (preferred)")] = None,
    basic_auth: Annotated[str | None, typer.Option(envvar="GRAFANA_BASIC_AUTH", show_envvar=True,
                                                   help="user:password instead of a token")] = None,
    engagement_share: Annotated[float, typer.Option(help="'Engagement dropped' threshold")] = alerts.DEFAULT_ENGAGEMENT_SHARE,
    alert_email: Annotated[str | None, typer.Option(help="send alerts to these addresses (comma-separated)")] = None,
    alert_webhook: Annotated[str | None, typer.Option(help="send alerts to this webhook URL")] = None,
    language: Annotated[str | None, typer.Option(envvar="PULSE_LANGUAGE", show_envvar=True,
                                                 help=_LANGUAGE_HELP)] = None,
    tier: Annotated[str, typer.Option(help="auto: read the tier from DATABASE_URL and set the datasource's "
                                           "TimescaleDB flag from it; or timescaledb | postgres")] = "auto",
) -> None:
    """Upload the datasource, dashboards (folder "Praatmee Pulse") and alert rules; safe to repeat.

    The database password comes from PULSE_GRAFANA_DB_PASSWORD, never from the command line.
    """
    from grafana_client import GrafanaApi

    from ingester.grafana.datasource import Connection
    from ingester.grafana.push import Contact, PushError, push

    lang = _language(language)
    if not url.startswith(("http://", "https://")):
        fail("--url: must start with http:// or https://", EXIT_SETTINGS)
    if (token is None) == (basic_auth is None):
        fail("GRAFANA_TOKEN: give exactly one of --token or --basic-auth", EXIT_SETTINGS)
    if basic_auth is not None and ":" not in basic_auth:
        fail("GRAFANA_BASIC_AUTH: expected user:password", EXIT_SETTINGS)
    if not 0 < engagement_share < 1:
        fail("--engagement-share: must be between 0 and 1", EXIT_SETTINGS)
    if alert_email and alert_webhook:
        fail("--alert-email/--alert-webhook: choose one", EXIT_SETTINGS)
    password = os.environ.get("PULSE_GRAFANA_DB_PASSWORD", "")
    if not password:
        fail("PULSE_GRAFANA_DB_PASSWORD: missing (required)", EXIT_SETTINGS)
    from ingester.grafana.tier import CHOICES, timescaledb_flag
    from ingester.migrate import MigrationError
    from ingester.settings import database_settings

    if tier not in CHOICES:
        fail("--tier: must be auto, timescaledb or postgres", EXIT_SETTINGS)
    dsn = None
    if tier == "auto":
        if not os.environ.get("DATABASE_URL"):
            fail("DATABASE_URL: missing — grafana push reads the database tier from it "
                 "(or pass --tier timescaledb or --tier postgres)", EXIT_SETTINGS)
        dsn = database_settings().dsn()
    try:
        flag, found = timescaledb_flag(tier, dsn)
    except MigrationError as exc:
        fail(f"grafana push: {exc}")
    credential: str | tuple[str, str] = token if token is not None else tuple(basic_auth.split(":", 1))  # type: ignore[union-attr,assignment]
    api = GrafanaApi.from_url(url, credential=credential, timeout=30.0)
    contact = (Contact("email", alert_email) if alert_email
               else Contact("webhook", alert_webhook) if alert_webhook else None)
    try:
        report = push(api, Connection(db_host, db_name, db_user, password, db_sslmode, timescaledb=flag),
                      engagement_share=engagement_share, contact=contact, language=lang)
    except PushError as exc:
        fail(f"grafana push: {exc}")
    typer.echo(f"database tier: {found}; datasource TimescaleDB flag {'on' if flag else 'off'}")
    for line in report.lines(lang):
        typer.echo(line)


@grafana_app.command("reader-login")
def reader_login_command() -> None:
    """Create or update Grafana's database login (PULSE_GRAFANA_DB_USER, in role pulse_reader)."""
    import psycopg

    from ingester.grafana.login import ensure_reader_login, load

    cfg = load()
    from ingester.migrate import connect_failure

    try:
        created = ensure_reader_login(cfg.database_url.get_secret_value(), cfg.pulse_grafana_db_user,
                                      cfg.pulse_grafana_db_password.get_secret_value())
    except psycopg.OperationalError as exc:  # its text may quote the URL: say why, not what
        fail(f"reader-login: DATABASE_URL: {connect_failure(exc)}")
    except psycopg.Error as exc:
        # message_primary never contains the password (CREATE ROLE errors name the role only)
        msg = exc.diag.message_primary or str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"reader-login: {msg}")
    typer.echo(f"{'created' if created else 'updated'} login {cfg.pulse_grafana_db_user} in role pulse_reader")


@grafana_app.command("build")
def build_command(
    check: Annotated[bool, typer.Option(help="fail if the committed files are stale")] = False,
    engagement_share: Annotated[float, typer.Option()] = alerts.DEFAULT_ENGAGEMENT_SHARE,
    language: Annotated[str | None, typer.Option(
        help=f"only this language ({', '.join(LANGUAGES)}); default: every language")] = None,
    out: Annotated[str | None, typer.Option(help="target folder (default: the checkout's grafana/provisioning[-<lang>], "
                                            "else ./grafana/provisioning[-<lang>]); several languages: one subfolder each")] = None,
) -> None:
    """Regenerate grafana/provisioning/ (nl) and grafana/provisioning-en/ (same as
    `python -m ingester.grafana.build`)."""
    from ingester.grafana.build import main

    args = ["--engagement-share", str(engagement_share)] + (["--check"] if check else [])
    if language is not None:
        args += ["--language", _language(language)]
    args += ["--out", out] if out else []
    raise typer.Exit(main(args))


def register(app: typer.Typer) -> None:
    app.add_typer(grafana_app, name="grafana")
