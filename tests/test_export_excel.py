"""`ingester export` for spreadsheets: xlsx with typed cells and `--dialect excel-nl` CSV."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from ingester.cli import app
from ingester.workbook import Book
from test_kpi_world import build_world

runner = CliRunner()
RANGE = ["--from", "2026-03-28", "--to", "2026-03-30", "--channel", "ams"]


def run(url: str, *args: str) -> tuple[int, bytes, str]:
    result = runner.invoke(app, ["export", *args], env={"DATABASE_URL": url})
    return result.exit_code, result.stdout_bytes, result.stderr


def view_summary_per_day(url: str) -> list[dict[str, object]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SET TimeZone = 'Europe/Amsterdam'")
        cur.execute(
            "SELECT s.* FROM (VALUES ('2026-03-28'::timestamptz, '2026-03-29'::timestamptz),"
            " ('2026-03-29', '2026-03-30')) d(f, t), kpi.summary(d.f, d.t, 'ams') s ORDER BY d.f"
        )
        return cur.fetchall()


def test_xlsx_has_one_sheet_per_dataset_a_frozen_header_and_typed_cells(database_url: str, tmp_path: Path) -> None:
    build_world(database_url)
    target = tmp_path / "pulse.xlsx"
    code, _, err = run(database_url, "posts", "summary", *RANGE, "--period", "day", "--format", "xlsx",
                       "-o", str(target))
    # --period applies to summary only: refused for posts
    assert code == 2 and "--period applies to summary and activity, not posts" in err
    code, _, err = run(database_url, "posts", "summary", "activity", *RANGE, "--format", "xlsx", "-o", str(target))
    assert code == 0, err
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames == ["posts", "summary", "activity"]
    posts = wb["posts"]
    header = [c.value for c in posts[1]]
    assert header[:6] == ["channel", "post_id", "posted_at", "url", "format", "tags"]
    assert posts.freeze_panes == "A2"
    first = dict(zip(header, (c.value for c in posts[2])))
    assert first["post_id"] == "1001"  # ids stay text: Excel would round an 18-digit number
    assert first["posted_at"] == datetime(2026, 3, 28, 11, 0)  # 10:00 UTC as Amsterdam wall-clock time
    assert posts.cell(2, 3).is_date
    assert first["tags"] == "qena,wonen"
    assert first["replies"] == 5 and isinstance(first["replies"], int)
    assert isinstance(first["reply_like_ratio"], float)
    assert abs(first["reply_like_ratio"] - 5 / 3) < 1e-12


def test_xlsx_summary_numbers_equal_the_view(database_url: str, tmp_path: Path) -> None:
    build_world(database_url)
    target = tmp_path / "summary.xlsx"
    code, _, err = run(database_url, "summary", *RANGE, "--period", "day", "--format", "xlsx", "-o", str(target))
    assert code == 0, err
    ws = openpyxl.load_workbook(target)["summary"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]
    assert [r["period_start"] for r in rows] == [datetime(2026, 3, 28), datetime(2026, 3, 29)]
    for got, want in zip(rows, view_summary_per_day(database_url), strict=True):
        for column in ("posts", "replies", "distinct_accounts", "returning_accounts", "replies_per_post"):
            expected = want[column]
            assert got[column] == (float(expected) if isinstance(expected, Decimal) else expected), column


def test_excel_nl_csv_round_trips_through_a_dutch_csv_dialect(database_url: str) -> None:
    build_world(database_url)
    code, out, err = run(database_url, "summary", *RANGE, "--period", "day", "--dialect", "excel-nl")
    assert code == 0, err
    assert out.startswith("\ufeff".encode())  # UTF-8 with BOM: Excel then reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig")), delimiter=";"))
    assert [r["period_start"] for r in rows] == ["2026-03-28 00:00:00", "2026-03-29 00:00:00"]
    assert rows[1]["period_end"] == "2026-03-30 00:00:00"  # local, no offset (it is +02 by then)
    for got, want in zip(rows, view_summary_per_day(database_url), strict=True):
        assert int(got["replies"]) == want["replies"]
        for column in ("replies_per_post", "reply_like_ratio", "median_response_seconds"):
            text = got[column]
            if want[column] is None:
                assert text == ""
                continue
            assert "." not in text  # a decimal comma, never a point
            assert Decimal(text.replace(",", ".")) == Decimal(str(want[column])), column


def test_excel_nl_csv_writes_arrays_as_plain_lists_and_quotes_a_semicolon(database_url: str) -> None:
    build_world(database_url)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE pulse.statuses SET url = 'https://x.example/a;b' WHERE status_id = '1002'")
    code, out, _ = run(database_url, "posts", *RANGE, "--dialect", "excel-nl")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig")), delimiter=";"))
    assert [(r["post_id"], r["posted_at"], r["tags"]) for r in rows] == [
        ("1001", "2026-03-28 11:00:00", "qena,wonen"),
        ("1002", "2026-03-29 00:30:00", "InnovatorSpotlight,ama"),
    ]
    assert rows[1]["url"] == "https://x.example/a;b"


def test_xlsx_goes_to_stdout_when_no_file_is_given(database_url: str) -> None:
    build_world(database_url)
    code, out, _ = run(database_url, "posts", *RANGE, "--format", "xlsx")
    assert code == 0
    ws = openpyxl.load_workbook(io.BytesIO(out))["posts"]
    assert [c.value for c in ws["B"]][:3] == ["post_id", "1001", "1002"]


def test_a_dataset_longer_than_a_sheet_goes_on_in_the_next_sheet(database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "long.xlsx"
    book = Book(str(target), max_rows=3)  # a header and two rows per sheet (Excel's real limit: 1,048,576)
    with psycopg.connect(database_url, autocommit=True) as conn:
        n = book.add("numbers", conn, sql.SQL("SELECT g AS n FROM generate_series(1, 5) g"))
    book.close()
    wb = openpyxl.load_workbook(target)
    assert n == 5 and wb.sheetnames == ["numbers", "numbers (2)", "numbers (3)"]
    assert [[c.value for c in row] for row in wb["numbers (2)"].iter_rows()] == [["n"], [3], [4]]
    assert wb["numbers (3)"].freeze_panes == "A2"


def test_several_datasets_need_xlsx_and_the_dialect_needs_csv(database_url: str) -> None:
    build_world(database_url)
    code, out, err = run(database_url, "posts", "summary", *RANGE)
    assert code == 2 and out == b"" and "--format xlsx" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(database_url, "posts", *RANGE, "--format", "json", "--dialect", "excel-nl")
    assert code == 2 and out == b"" and "--dialect applies to --format csv" in err


@pytest.mark.slow
def test_a_million_row_xlsx_export_stays_under_150_mb_of_memory(database_url: str, tmp_path: Path) -> None:
    """The export process's peak RSS (measured on the child by the kernel) stays flat: rows stream."""
    rows = 1_000_000
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # bulk load: skip the first-seen triggers
        conn.execute(
            """INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                account_key, source)
               SELECT 'ams', g::text, '2026-01-01 00:00+01'::timestamptz + g * interval '2 seconds',
                      CASE WHEN g %% 10 = 0 THEN 'follow' ELSE 'favourite' END,
                      CASE WHEN g %% 10 = 0 THEN NULL ELSE '1001' END,
                      'acct-' || (g %% 50000), 'stream'
                 FROM generate_series(1, %s) g""",
            (rows,),
        )
    target = tmp_path / "engagements.xlsx"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL"))}
    env["DATABASE_URL"] = database_url
    # Measured by a small parent of the export, not by pytest: Linux counts the memory a process had
    # when it forked into the child's peak (ru_maxrss survives exec), and pytest is large by now.
    measure = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, st, ru = os.wait4(p.pid, 0); "
               "print(ru.ru_maxrss, flush=True); sys.exit(os.waitstatus_to_exitcode(st))")
    done = subprocess.run(
        [sys.executable, "-c", measure, sys.executable, "-m", "ingester", "export", "engagements",
         "--from", "2026-01-01", "--to", "2026-03-01", "--format", "xlsx", "-o", str(target)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1]) / 1024  # kilobytes on Linux
    print(f"peak RSS of the export process: {peak_mb:.1f} MB for {rows:,} rows")
    assert peak_mb < 150
    with zipfile.ZipFile(target) as z, z.open("xl/worksheets/sheet1.xml") as sheet:
        head = sheet.read(2000).decode()
    assert f'<dimension ref="A1:G{rows + 1}"/>' in head  # a header and every row
