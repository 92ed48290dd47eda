"""kpi.activity_hourly / kpi.activity_daily / kpi.account_daily / kpi.activity(): local-day buckets
(23 h and 25 h DST days), formats inherited from the thread's root post, distinct active accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from test_kpi_world import DAY_0328, DAY_0329, DAY_0330, DAY_1025, DAY_1026, World, build_world, t

COLS = "replies, mentions, favourites, reblogs, quotes, follows, active_accounts"


@pytest.fixture
def world(database_url: str) -> World:
    return build_world(database_url)


def daily(url: str, channel: str = "ams") -> dict[tuple[datetime, str | None], tuple[int, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT bucket, format, {COLS} FROM kpi.activity_daily WHERE channel = %s", (channel,)
        ).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_the_28th_counts_the_thread_likes_of_the_answer_and_the_boost_as_qa(
    database_url: str, world: World,
) -> None:
    d = daily(database_url)
    # replies 1101 1102 1103 1105 (1106 deleted); favourites a b c + e on the city's answer; e boosts
    assert d[(DAY_0328, "qa")] == (4, 0, 4, 1, 0, 0, 4)


def test_the_23_hour_day_gets_what_happened_between_its_local_midnights(
    database_url: str, world: World,
) -> None:
    d = daily(database_url)
    assert DAY_0330 - DAY_0329 == timedelta(hours=23)
    assert d[(DAY_0329, "qa")] == (1, 0, 1, 0, 0, 0, 2)  # 1104 by b, favourite by d
    # favourite at local 00:40 and 1111 at 23:30 CEST: the same local day
    assert d[(DAY_0329, "innovator_spotlight")] == (1, 0, 1, 0, 0, 0, 2)
    # 1112 at local 00:30 on the 30th; f's quote of P1
    assert d[(DAY_0330, "innovator_spotlight")] == (1, 0, 0, 0, 0, 0, 1)
    assert d[(DAY_0330, "qa")] == (0, 0, 0, 0, 1, 0, 1)


def test_the_25_hour_day_and_engagements_about_no_post(database_url: str, world: World) -> None:
    d = daily(database_url)
    assert DAY_1026 - DAY_1025 == timedelta(hours=25)
    assert d[(DAY_1025, "city_question")] == (2, 0, 0, 0, 0, 0, 2)  # 00:30 CEST and 23:30 CET
    assert d[(DAY_1025, None)] == (0, 1, 0, 0, 0, 1, 2)  # a mention outside threads, a follow
    assert len(d) == 7  # and nothing else: no row for the unthreaded status or the deleted reply


def test_channels_are_kept_apart(database_url: str, world: World) -> None:
    assert daily(database_url, "zuid") == {(DAY_0328, "qa"): (1, 0, 1, 0, 0, 0, 2)}


def test_hourly_buckets_are_clock_hours(database_url: str, world: World) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT bucket, format, {COLS} FROM kpi.activity_hourly"
            " WHERE channel = 'ams' AND bucket >= %s AND bucket < %s ORDER BY bucket",
            (t(10, 24, 22), t(10, 25, 1)),
        ).fetchall()
    assert rows == [(t(10, 24, 22), "city_question", 1, 0, 0, 0, 0, 0, 1)]
    with psycopg.connect(database_url) as conn:
        total = conn.execute("SELECT sum(replies), sum(favourites) FROM kpi.activity_hourly").fetchone()
    assert total == (4 + 1 + 2 + 2 + 1, 4 + 1 + 1 + 1)  # every event in exactly one hour


def test_the_function_agrees_with_the_views_and_adds_weeks(database_url: str, world: World) -> None:
    with psycopg.connect(database_url) as conn:
        for period, view in (("day", "activity_daily"), ("hour", "activity_hourly")):
            fn = conn.execute(
                f"SELECT channel, bucket, format, {COLS} FROM kpi.activity(%s, %s, %s)"
                " ORDER BY 1, 2, 3 NULLS FIRST",
                (t(1, 1, 0), t(12, 31, 0), period),
            ).fetchall()
            vw = conn.execute(
                f"SELECT channel, bucket, format, {COLS} FROM kpi.{view} ORDER BY 1, 2, 3 NULLS FIRST"
            ).fetchall()
            assert fn == vw, period
        weeks = conn.execute(
            "SELECT bucket, sum(replies) FROM kpi.activity(%s, %s, 'week', 'ams') GROUP BY 1 ORDER BY 1",
            (t(1, 1, 0), t(12, 31, 0)),
        ).fetchall()
    # ISO weeks start on local Monday 00:00: 2026-03-23 (CET) and 2026-03-30 (CEST), 2026-10-19 (CEST)
    assert weeks == [(t(3, 22, 23), 6), (t(3, 29, 22), 1), (t(10, 18, 22), 2)]


def test_an_unknown_period_is_refused(database_url: str) -> None:
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT * FROM kpi.activity(now() - interval '1 day', now(), 'month')")


def test_the_per_account_daily_rollup(database_url: str, world: World) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT account_key, replies, favourites, reblogs FROM kpi.account_daily"
            " WHERE channel = 'ams' AND day = %s ORDER BY account_key",
            (DAY_0328,),
        ).fetchall()
    assert rows == [("a", 2, 1, 0), ("b", 1, 1, 0), ("c", 1, 1, 0), ("e", 0, 1, 1)]


def test_a_changed_timezone_moves_the_day_boundaries(database_url: str, world: World) -> None:
    from ingester.migrate import migrate

    migrate(database_url, timezone="UTC")
    with psycopg.connect(database_url) as conn:
        conn.autocommit = True
        conn.execute("CALL pulse.refresh_aggregates()")
        buckets = {
            r[0] for r in conn.execute("SELECT bucket FROM kpi.activity_daily WHERE channel = 'ams'")
        }
    assert t(3, 29, 0) in buckets and DAY_0329 not in buckets
