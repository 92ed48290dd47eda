"""`ingester report`: the weekly report as HTML, PDF or PNG (registered into ingester.cli)."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import typer

from ingester.export import unknown_channel
from ingester.exits import EXIT_SETTINGS, fail
from ingester.i18n import Language, parse_language
from ingester.migrate import connect_failure
from ingester.report import browser, figures, page, period
from ingester.report.period import Period, PeriodError
from ingester.settings import SettingsError, database_url_only


class Format(StrEnum):
    HTML = "html"
    PDF = "pdf"
    PNG = "png"


class ReportError(Exception):
    """Input the user can fix; `str()` is one line."""


def render(html: str, fmt: Format) -> bytes:
    if fmt is Format.PDF:
        return browser.pdf(html)
    if fmt is Format.PNG:
        return browser.png(html)
    return html.encode("utf-8")


def build_html(conn: psycopg.Connection, p: Period, channel: str | None, lang: Language,
               made: datetime | None = None) -> str:
    return page.render(figures.load(conn, p, channel), lang, made or datetime.now(timezone.utc))


def choose_period(conn: psycopg.Connection, week: str | None, start: str | None, end: str | None) -> Period:
    if week and (start or end):
        raise ReportError("--week and --from/--to exclude each other: give one")
    if week:
        return period.week(week)
    if start or end:
        if not (start and end):
            raise ReportError("--from and --to go together (YYYY-MM-DD, --to exclusive)")
        return period.days(start, end)
    tz = ZoneInfo(conn.execute("SELECT pulse.timezone()").fetchone()[0])  # type: ignore[index]
    return period.week_before(datetime.now(tz).date())  # default: the last whole week


def report(
    week: str | None = typer.Option(None, "--week", help="ISO week, e.g. 2026-W49 (default: last whole week)"),
    start: str | None = typer.Option(None, "--from", help="First day YYYY-MM-DD (instead of --week)"),
    end: str | None = typer.Option(None, "--to", help="Day after the last, YYYY-MM-DD (exclusive)"),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel (default: all)"),
    fmt: Format = typer.Option(Format.HTML, "--format", help="html, pdf or png"),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to FILE (default: stdout for html)"),
) -> None:
    """One page for managers: the KPIs against the previous period, per-day chart, top posts (PULSE_LANGUAGE)."""
    dsn = database_url_only()  # a SettingsError reaches the command group: one line per problem, exit 2
    try:
        lang = parse_language(os.environ.get("PULSE_LANGUAGE"))
    except ValueError as exc:
        raise SettingsError(f"PULSE_LANGUAGE: {exc}") from None
    try:
        try:
            conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:  # why, in words that never carry the URL (as `export`)
            fail(f"DATABASE_URL: {connect_failure(exc)}")
        with conn:
            p = choose_period(conn, week, start, end)
            if channel is not None and (problem := unknown_channel(conn, channel)):
                raise ReportError(problem)
            html = build_html(conn, p, channel, lang)
        if output is None and fmt is not Format.HTML:
            output = Path(f"praatmee-pulse-{p.slug()}{'-' + channel if channel else ''}.{fmt.value}")
        data = render(html, fmt)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        try:
            output.write_bytes(data)
        except OSError as exc:
            fail(f"-o: cannot write {output} ({exc.strerror}) — choose another path", EXIT_SETTINGS)
        typer.echo(f"report written to {output}", err=True)
    except (ReportError, PeriodError) as exc:
        fail(str(exc), EXIT_SETTINGS)
    except browser.BrowserError as exc:
        fail(str(exc))
    except psycopg.Error as exc:
        fail(f"report failed: {exc.diag.message_primary or type(exc).__name__}")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
