"""`ingester export {summary,posts,activity,engagements,entry_daily}`: KPI data as CSV, JSON Lines or Excel for data staff.

Streams with COPY (CSV, JSON) or a server-side cursor (xlsx), so memory stays flat however large the
range. Times are written with their UTC offset in the configured timezone (the session TimeZone is set
to `pulse.config` 'timezone'), and bare dates in --from/--to mean local midnight there. CSV has a
header row; JSON is JSON Lines (one object per line: streams, and `jq -s` makes an array of it).
`--dialect excel-nl` makes a CSV a Dutch-locale Excel opens as it is (ingester/dialect.py); `--format
xlsx` writes typed cells, one sheet per dataset (ingester/workbook.py). Bad input prints one line and
exits 2.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import psycopg
import typer
from psycopg import sql

from ingester.dialect import BOM, COPY_SQL, excel_nl_query
from ingester.exits import EXIT_SETTINGS, fail
from ingester.settings import database_url_only
from ingester.workbook import Book


class What(StrEnum):
    SUMMARY = "summary"
    POSTS = "posts"
    ACTIVITY = "activity"
    ENGAGEMENTS = "engagements"
    ENTRY_DAILY = "entry_daily"


class Period(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class OutputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


class Dialect(StrEnum):
    STANDARD = "standard"  # comma, decimal point, ISO times with offset, PostgreSQL arrays
    EXCEL_NL = "excel-nl"  # semicolon, decimal comma, BOM, local times without offset, plain lists


class ExportError(Exception):
    """Input the user can fix; `str()` is one line."""


def parse_instant(text: str, tz: ZoneInfo, option: str) -> datetime:
    """ISO date (local midnight) or ISO date-time (local time unless it carries an offset)."""
    value = text.strip()
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=tz)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ExportError(
            f"{option}: {text!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[+01:00])"
        ) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def build_query(
    what: What, start: datetime, end: datetime, channel: str | None, period: Period | None
) -> sql.Composed:
    """The SELECT behind each export, with the values bound client-side (COPY takes no parameters)."""
    f, t, ch = sql.Literal(start), sql.Literal(end), sql.Literal(channel)
    if what is What.ENTRY_DAILY:  # the entry route is not per channel; days are local calendar days
        return sql.SQL(
            "SELECT * FROM kpi.entry_daily"
            " WHERE day >= ({f}::timestamptz AT TIME ZONE current_setting('TimeZone'))::date"
            " AND day::timestamp AT TIME ZONE current_setting('TimeZone') < {t}::timestamptz ORDER BY day, source"
        ).format(f=f, t=t)
    if what is What.POSTS:
        return sql.SQL(
            "SELECT * FROM kpi.post_stats WHERE posted_at >= {f} AND posted_at < {t}"
            " AND ({ch}::text IS NULL OR channel = {ch}) ORDER BY posted_at, channel, post_id"
        ).format(f=f, t=t, ch=ch)
    if what is What.ENGAGEMENTS:
        return sql.SQL(
            "SELECT * FROM kpi.engagements WHERE occurred_at >= {f} AND occurred_at < {t}"
            " AND ({ch}::text IS NULL OR channel = {ch}) ORDER BY occurred_at, channel, source_id"
        ).format(f=f, t=t, ch=ch)
    if what is What.ACTIVITY:
        p = sql.Literal((period or Period.DAY).value)
        return sql.SQL("SELECT * FROM kpi.activity({f}, {t}, {p}, {ch})").format(f=f, t=t, p=p, ch=ch)
    if period is None:  # one row for the whole range
        return sql.SQL(
            "SELECT {f}::timestamptz AS period_start, {t}::timestamptz AS period_end, s.*"
            " FROM kpi.summary({f}, {t}, {ch}) s"
        ).format(f=f, t=t, ch=ch)
    # one exact summary per local period (never summed from buckets), clipped to [from, to)
    return sql.SQL(
        """SELECT greatest(b, {f}) AS period_start, least(b + {step}, {t}) AS period_end, s.*
             FROM generate_series(date_trunc({p}, {f}::timestamptz, current_setting('TimeZone')),
                                  {t}::timestamptz - interval '1 microsecond', {step}) AS b,
                  LATERAL kpi.summary(greatest(b, {f}), least(b + {step}, {t}), {ch}) s
            ORDER BY b"""
    ).format(
        f=f, t=t, ch=ch, p=sql.Literal(period.value), step=sql.Literal(f"1 {period.value}")
    )


class _Progress:
    """Rows so far on stderr, at most once a second, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.rows, self._last = enabled, 0, time.monotonic()

    def add(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if self.enabled and now - self._last >= 1.0:
            self._last = now
            sys.stderr.write(f"\rexported {self.rows:,} rows")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write(f"\rexported {self.rows:,} rows\n")


def stream(
    conn: psycopg.Connection, query: sql.Composed, fmt: OutputFormat, out: BinaryIO,
    progress: _Progress, dialect: Dialect = Dialect.STANDARD,
) -> None:
    with conn.cursor() as cur:
        if fmt is OutputFormat.CSV:
            if dialect is Dialect.EXCEL_NL:
                query = excel_nl_query(conn, query)
                copy_sql = COPY_SQL
                out.write(BOM)
            else:
                copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER, ENCODING 'UTF8')")
            with cur.copy(copy_sql.format(query)) as copy:
                header = True
                for chunk in copy:
                    data = bytes(chunk)
                    out.write(data)
                    progress.add(data.count(b"\n") - (1 if header else 0))
                    header = False
        else:
            # COPY text format escapes backslashes; let psycopg decode each row back to plain JSON.
            copy_sql = sql.SQL(
                "COPY (SELECT row_to_json(q)::text FROM ({}) q) TO STDOUT WITH (ENCODING 'UTF8')"
            )
            with cur.copy(copy_sql.format(query)) as copy:
                copy.set_types(["text"])
                for (line,) in copy.rows():
                    out.write(line.encode("utf-8") + b"\n")
                    progress.add(1)
    progress.done()


def write_workbook(
    conn: psycopg.Connection, queries: list[tuple[What, sql.Composed]], out: BinaryIO, progress: _Progress
) -> None:
    """One sheet per dataset. XlsxWriter needs a seekable file: a temporary one, copied to `out`."""
    with tempfile.TemporaryFile() as tmp:
        book = Book(tmp)
        for what, query in queries:
            book.add(what.value, conn, query, progress.add)
        book.close()
        tmp.seek(0)
        shutil.copyfileobj(tmp, out, 1 << 20)
    progress.done()


@contextmanager
def _output(path: Path | None) -> Iterator[BinaryIO]:
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        fh = path.open("wb")
    except OSError as exc:
        raise ExportError(f"-o: cannot write {path} ({exc.strerror})") from None
    with fh:
        yield fh


def unknown_channel(conn: psycopg.Connection, channel: str) -> str | None:
    """The one line for a --channel that is not configured, naming those that are (also `ingester report`)."""
    known = [r[0] for r in conn.execute("SELECT channel FROM pulse.channels ORDER BY 1")]
    return None if channel in known else f"--channel: unknown channel {channel!r} (known: {', '.join(known) or 'none'})"


class ExportUnreachable(ExportError):
    """The database cannot be reached; `str()` says why and what to do (never the URL)."""


def run_export(
    dsn: str, what: What | list[What], start_text: str, end_text: str, *, period: Period | None = None,
    channel: str | None = None, fmt: OutputFormat = OutputFormat.CSV, output: Path | None = None,
    progress: bool = False, dialect: Dialect = Dialect.STANDARD,
) -> int:
    """Validate, then stream the export; returns the number of data rows written."""
    whats = list(dict.fromkeys(what if isinstance(what, list) else [what]))
    if len(whats) > 1 and fmt is not OutputFormat.XLSX:
        raise ExportError("several datasets go into one file only with --format xlsx (one sheet each)")
    if dialect is not Dialect.STANDARD and fmt is not OutputFormat.CSV:
        raise ExportError(f"--dialect applies to --format csv, not {fmt.value}")
    from ingester.migrate import connect_failure

    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise ExportUnreachable(f"DATABASE_URL: {connect_failure(exc)}") from None
    with conn:
        tz_name = conn.execute("SELECT pulse.timezone()").fetchone()[0]  # type: ignore[index]
        tz = ZoneInfo(tz_name)
        start = parse_instant(start_text, tz, "--from")
        end = parse_instant(end_text, tz, "--to")
        if start >= end:
            raise ExportError(f"--from must be before --to (got {start.isoformat()} .. {end.isoformat()})")
        if What.ENTRY_DAILY in whats and (channel is not None or period is not None):
            raise ExportError("--channel and --period do not apply to entry_daily (one row per day and source)")
        if channel is not None and (problem := unknown_channel(conn, channel)):
            raise ExportError(problem)
        for w in whats:
            if period is not None and w in (What.POSTS, What.ENGAGEMENTS):
                raise ExportError(f"--period applies to summary and activity, not {w.value}")
        conn.execute("SELECT set_config('TimeZone', %s, false), set_config('DateStyle', 'ISO, YMD', false)",
                     (tz_name,))
        queries = [(w, build_query(w, start, end, channel, period)) for w in whats]
        meter = _Progress(progress)
        with _output(output) as out:
            if fmt is OutputFormat.XLSX:
                write_workbook(conn, queries, out, meter)
            else:
                stream(conn, queries[0][1], fmt, out, meter, dialect)
        return meter.rows


def export(
    what: list[What] = typer.Argument(
        ..., help="summary | posts | activity | engagements | entry_daily (several: one xlsx sheet each)"
    ),
    start: str = typer.Option(..., "--from", help="Start (inclusive): YYYY-MM-DD (local midnight) or ISO date-time"),
    end: str = typer.Option(..., "--to", help="End (exclusive): YYYY-MM-DD or ISO date-time"),
    period: Period | None = typer.Option(None, "--period", help="summary/activity per hour, day or week (local)"),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel"),
    fmt: OutputFormat = typer.Option(
        OutputFormat.CSV, "--format", help="csv (with header), json (JSON Lines) or xlsx (typed cells)"
    ),
    dialect: Dialect = typer.Option(
        Dialect.STANDARD, "--dialect",
        help="csv only: standard, or excel-nl (';', decimal comma, BOM, local times without offset)",
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to FILE instead of stdout"),
) -> None:
    """Export KPIs as CSV, JSON Lines or Excel (UTF-8, times in the configured timezone)."""
    dsn = database_url_only()  # a SettingsError reaches the command group: one line per problem, exit 2
    try:
        run_export(dsn, what, start, end, period=period, channel=channel, fmt=fmt, output=output,
                   progress=sys.stderr.isatty(), dialect=dialect)
    except ExportUnreachable as exc:  # the settings are fine; the server is not (README: exit codes)
        fail(str(exc))
    except ExportError as exc:
        fail(str(exc), EXIT_SETTINGS)
    except psycopg.Error as exc:
        fail(f"export failed: {exc.diag.message_primary or type(exc).__name__}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
