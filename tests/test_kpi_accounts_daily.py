"""kpi.accounts_daily(from, to, channel, format): per local day, the same distinct/new/returning
accounts as kpi.summary over that day, on the shared KPI world (DST days included)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from test_kpi_world import DAY_0328, DAY_0329, DAY_0330, DAY_1025, DAY_1026, World, build_world, t

# Ranges that start and end inside a local day, so whole days outside [from, to) are asked for too.
RANGES = [
    (DAY_0328 - timedelta(hours=20), DAY_0330 + timedelta(days=3, hours=5)),  # 03-27 .. 04-02
    (DAY_0329 + timedelta(hours=5), DAY_0330 + timedelta(hours=1)),  # 03-29 .. 03-30: history before
    (DAY_1025 - timedelta(days=2), DAY_1026 + timedelta(days=1, hours=3)),  # 10-23 .. 10-27
]
SCOPES = [(None, None), ("ams", None), ("zuid", None), ("ams", "qa"), (None, "qa"),
          ("ams", "innovator_spotlight"), ("ams", "city_question")]


def daily(url: str, start: datetime, end: datetime, channel: str | None = None,
          fmt: str | None = None, role: str | None = None) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        if role:
            conn.execute(f"SET ROLE {role}")
        return conn.execute("SELECT * FROM kpi.accounts_daily(%s, %s, %s, %s)",
                            (start, end, channel, fmt)).fetchall()


def summary_accounts(conn: psycopg.Connection, start: datetime, end: datetime, channel: str | None,
                     fmt: str | None) -> tuple[int, int, int]:
    row = conn.execute(
        "SELECT distinct_accounts, new_accounts, returning_accounts FROM kpi.summary(%s, %s, %s, %s)",
        (start, end, channel, fmt)).fetchone()
    assert row is not None
    return row


@pytest.fixture
def world(database_url: str) -> World:
    return build_world(database_url)


def test_the_dst_days_of_march_match_the_hand_counted_summary(database_url: str, world: World) -> None:
    rows = daily(database_url, DAY_0328, DAY_0330, "ams")
    got = [(r["day"], r["bucket"], r["distinct_accounts"], r["new_accounts"], r["returning_accounts"])
           for r in rows]
    # 03-28: a, b, c, e all new; 03-29 (23 h): b and e back, d and f new (see test_kpi_summary)
    assert got == [(date(2026, 3, 28), DAY_0328, 4, 4, 0), (date(2026, 3, 29), DAY_0329, 4, 2, 2)]


@pytest.mark.parametrize(("channel", "fmt"), SCOPES)
def test_every_day_equals_kpi_summary_over_that_day(
    database_url: str, world: World, channel: str | None, fmt: str | None,
) -> None:
    with psycopg.connect(database_url) as conn:
        for start, end in RANGES:
            for r in daily(database_url, start, end, channel, fmt):
                day_end = conn.execute(
                    "SELECT (%s::date + 1)::timestamp AT TIME ZONE pulse.timezone()", (r["day"],)).fetchone()[0]
                expected = summary_accounts(conn, r["bucket"], day_end, channel, fmt)
                assert (r["distinct_accounts"], r["new_accounts"], r["returning_accounts"]) == expected, r["day"]


def test_rows_are_the_local_days_overlapping_the_range_with_23_and_25_hour_days(
    database_url: str, world: World,
) -> None:
    spring = daily(database_url, DAY_0328 + timedelta(hours=1), DAY_0330 + timedelta(minutes=1))
    assert [r["day"] for r in spring] == [date(2026, 3, d) for d in (28, 29, 30)]
    assert [r["bucket"] for r in spring] == [DAY_0328, DAY_0329, DAY_0330]
    autumn = daily(database_url, DAY_1025, DAY_1026)  # ends exactly at midnight: 10-26 not included
    assert [(r["day"], r["bucket"]) for r in autumn] == [(date(2026, 10, 25), DAY_1025)]
    # c at 00:30 CEST, d's follow, f's mention and b at 23:30 CET: all on the 25-hour day
    assert autumn[0]["distinct_accounts"] == 4


def test_new_plus_returning_is_distinct_on_every_day_of_the_year(database_url: str, world: World) -> None:
    rows = daily(database_url, t(1, 1, 0), t(12, 31, 0), "ams")
    assert len(rows) == 365
    assert all(r["new_accounts"] + r["returning_accounts"] == r["distinct_accounts"] for r in rows)
    assert sum(r["distinct_accounts"] for r in rows) > 0


def test_days_without_activity_are_zero_rows(database_url: str, world: World) -> None:
    rows = daily(database_url, t(6, 1, 12), t(6, 3, 12), "ams", "qa")
    assert [(r["distinct_accounts"], r["new_accounts"], r["returning_accounts"]) for r in rows] == [(0, 0, 0)] * 3


def test_the_analyst_may_call_it(database_url: str, world: World) -> None:
    rows = daily(database_url, DAY_0329, DAY_0330, "ams", role="pulse_analyst")
    assert [(r["distinct_accounts"], r["returning_accounts"]) for r in rows] == [(4, 2)]


def test_from_not_before_to_is_refused(database_url: str) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="from < to"):
        daily(database_url, t(6, 2, 0), t(6, 2, 0))
