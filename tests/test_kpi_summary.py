"""kpi.summary(from, to, channel, format): exact for any range, against hand-computed truth and an
oracle over the scenario's engagements."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from test_kpi_world import DAY_0328, DAY_0329, DAY_0330, World, build_world, t


def summary(url: str, start: datetime, end: datetime, channel: str | None = None,
            fmt: str | None = None) -> dict[str, Any]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT * FROM kpi.summary(%s, %s, %s, %s)", (start, end, channel, fmt)).fetchone()
    assert row is not None
    return row


@pytest.fixture
def world(database_url: str) -> World:
    return build_world(database_url)


def test_local_day_2026_03_28_of_one_channel(database_url: str, world: World) -> None:
    s = summary(database_url, DAY_0328, DAY_0329, "ams")
    assert (s["posts"], s["replies"], s["favourites"], s["reblogs"]) == (1, 5, 3, 1)
    assert s["replies_per_post"] == 5
    assert s["reply_like_ratio"].quantize(Decimal("1.000000")) == Decimal("1.666667")
    assert (s["distinct_accounts"], s["new_accounts"], s["returning_accounts"]) == (4, 4, 0)
    assert s["city_replies"] == 1  # 1201; 1202 was written on 04-01
    assert s["answered_share"] == Decimal("0.5")  # 1101 in 1.5 h, 1105 after 96 h
    assert s["median_response_seconds"] == (5400 + 345600) / 2


def test_the_23_hour_dst_day_counts_returning_accounts(database_url: str, world: World) -> None:
    # A post at local 00:30 on 2026-03-29 belongs to that day, not to the 28th.
    s = summary(database_url, DAY_0329, DAY_0330, "ams")
    assert (s["posts"], s["replies"], s["favourites"], s["reblogs"]) == (1, 2, 1, 0)
    assert s["replies_per_post"] == 2
    # b (1104), d (fav), f (fav on P2), e (1111); b and e were active on the 28th
    assert (s["distinct_accounts"], s["returning_accounts"], s["new_accounts"]) == (4, 2, 2)
    assert s["city_replies"] == 0
    assert s["answered_share"] == 0
    assert s["median_response_seconds"] is None


def test_all_channels_together_count_each_account_once(database_url: str, world: World) -> None:
    s = summary(database_url, t(1, 1, 0), t(12, 31, 0))
    assert (s["posts"], s["replies"], s["favourites"], s["reblogs"]) == (5, 10, 5, 1)
    assert (s["distinct_accounts"], s["returning_accounts"]) == (6, 0)
    assert s["city_replies"] == 3


def test_a_format_narrows_posts_and_engagements(database_url: str, world: World) -> None:
    s = summary(database_url, t(1, 1, 0), t(12, 31, 0), "ams", "qa")
    assert (s["posts"], s["replies"], s["favourites"]) == (1, 5, 3)
    # a..e in the thread or liking the post or the answer, f quoting it; not d's follow
    assert s["distinct_accounts"] == 5 + 1
    other = summary(database_url, t(1, 1, 0), t(12, 31, 0), "ams", "other")
    assert (other["posts"], other["replies"], other["distinct_accounts"]) == (1, 0, 0)
    assert other["reply_like_ratio"] is None and other["replies_per_post"] == 0


def test_a_range_without_anything_is_zeros_and_nulls(database_url: str, world: World) -> None:
    s = summary(database_url, t(6, 1, 0), t(6, 2, 0))
    assert (s["posts"], s["replies"], s["distinct_accounts"], s["new_accounts"]) == (0, 0, 0, 0)
    assert s["replies_per_post"] is None and s["answered_share"] is None


def test_from_not_before_to_is_refused(database_url: str) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="from < to"):
        summary(database_url, t(6, 2, 0), t(6, 1, 0))


_START = t(3, 27, 0)
_HOURS = int((t(10, 27, 0) - _START).total_seconds() // 3600)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    a=st.integers(0, _HOURS), length=st.integers(1, _HOURS),
    channel=st.sampled_from([None, "ams", "zuid"]),
)
def test_new_plus_returning_is_distinct_and_both_match_the_oracle(
    database_url: str, world: World, a: int, length: int, channel: str | None,
) -> None:
    start = _START + timedelta(hours=a)
    end = start + timedelta(hours=length)
    s = summary(database_url, start, end, channel)
    scope = [e for e in world.engagements if channel is None or e.channel == channel]
    active = {e.account for e in scope if start <= e.at < end}
    before = {e.account for e in scope if e.at < start}
    assert s["distinct_accounts"] == len(active)
    assert s["returning_accounts"] == len(active & before)
    assert s["new_accounts"] + s["returning_accounts"] == s["distinct_accounts"]
