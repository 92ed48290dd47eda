"""`ingester export`: CSV with header / JSON Lines, times with offset, exact numbers, clear errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingester.cli import app
from test_kpi_world import build_world

runner = CliRunner()


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["export", *args], env={"DATABASE_URL": url})
    return result.exit_code, result.stdout, result.stderr


def test_posts_as_csv_have_a_header_and_local_times_with_offset(database_url: str) -> None:
    build_world(database_url)
    code, out, _ = run(database_url, "posts", "--from", "2026-03-28", "--to", "2026-03-30", "--channel", "ams")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["post_id"] for r in rows] == ["1001", "1002"]
    assert rows[0]["posted_at"] == "2026-03-28 11:00:00+01"  # 10:00 UTC, CET
    assert rows[0]["replies"] == "5" and rows[0]["favourites"] == "3" and rows[0]["format"] == "qa"


def test_summary_per_local_day_is_exact_per_day(database_url: str) -> None:
    build_world(database_url)
    code, out, _ = run(database_url, "summary", "--from", "2026-03-28", "--to", "2026-03-30",
                       "--period", "day", "--channel", "ams", "--format", "json")
    assert code == 0
    days = [json.loads(line) for line in out.splitlines()]
    assert [d["period_start"] for d in days] == ["2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"]
    assert days[1]["period_end"] == "2026-03-30T00:00:00+02:00"  # the 23-hour day
    assert [(d["distinct_accounts"], d["returning_accounts"]) for d in days] == [(4, 0), (4, 2)]


def test_activity_and_engagements_stream_to_a_file(database_url: str, tmp_path: Path) -> None:
    build_world(database_url)
    target = tmp_path / "activity.csv"
    code, _, _ = run(database_url, "activity", "--from", "2026-10-25", "--to", "2026-10-26", "-o", str(target))
    assert code == 0
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert {(r["format"], r["replies"], r["follows"]) for r in rows} == {("city_question", "2", "0"), ("", "0", "1")}
    # 10:50 UTC written with an offset, 11:05 UTC with Z: only reply 1101 (11:00 UTC) is inside
    code, out, _ = run(database_url, "engagements", "--from", "2026-03-28T11:50:00+01:00",
                       "--to", "2026-03-28T11:05:00Z", "--format", "json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["kind"], r["source_id"], r["occurred_at"]) for r in rows] == [
        ("reply", "1101", "2026-03-28T12:00:00+01:00")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["posts", "--from", "28-03-2026", "--to", "2026-03-30"], "--from: '28-03-2026' is not a date"),
        (["posts", "--from", "2026-03-30", "--to", "2026-03-30"], "--from must be before --to"),
        (["posts", "--from", "2026-03-28", "--to", "2026-03-30", "--channel", "west"], "unknown channel 'west'"),
        (["posts", "--from", "2026-03-28", "--to", "2026-03-30", "--period", "day"], "--period applies to"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(database_url: str, args: list[str], message: str) -> None:
    build_world(database_url)
    code, out, err = run(database_url, *args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_missing_database_url_is_exit_code_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    result = runner.invoke(app, ["export", "posts", "--from", "2026-01-01", "--to", "2026-02-01"],
                           env={"DATABASE_URL": None})
    assert result.exit_code == 2 and "DATABASE_URL" in result.stderr
