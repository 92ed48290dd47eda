"""kpi.post_stats: one row per top-level post, every column against the hand-computed truth."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from test_kpi_world import build_world, t


@pytest.fixture
def stats(database_url: str) -> dict[str, dict[str, Any]]:
    build_world(database_url)
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT * FROM kpi.post_stats").fetchall()
    return {r["post_id"]: r for r in rows}


def test_only_top_level_posts_of_the_channels_get_a_row(stats: dict[str, dict[str, Any]]) -> None:
    assert sorted(stats) == ["1001", "1002", "1003", "1004", "2001"]
    assert stats["2001"]["channel"] == "zuid"


def test_replies_count_every_status_by_others_in_the_thread_including_deep_ones_but_not_deleted(
    stats: dict[str, dict[str, Any]],
) -> None:
    # 1101 direct, 1102/1103 deep without mention, 1104 deep mention, 1105 reply to the city's answer;
    # 1106 was deleted; the city's own answers 1201/1202 are not replies.
    assert stats["1001"]["replies"] == 5
    assert stats["1001"]["repliers"] == 3
    assert stats["1001"]["first_reply_at"] == t(3, 28, 11)


def test_favourites_follow_a_newer_snapshot_that_reflects_an_unfavourite(
    stats: dict[str, dict[str, Any]],
) -> None:
    assert stats["1001"]["favourites"] == 3  # 4 notifications, snapshot says 3
    assert stats["1001"]["reblogs"] == 1


def test_events_newer_than_the_snapshot_win_over_it(stats: dict[str, dict[str, Any]]) -> None:
    # the snapshot said 0 quotes; a quote arrived after it
    assert stats["1001"]["quotes"] == 1


def test_without_a_snapshot_favourites_are_the_stored_events(stats: dict[str, dict[str, Any]]) -> None:
    assert stats["1002"]["favourites"] == 1
    assert stats["1002"]["reblogs"] == 0


def test_reply_like_ratio_is_replies_over_favourites_and_null_without_favourites(
    stats: dict[str, dict[str, Any]],
) -> None:
    assert stats["1001"]["reply_like_ratio"].quantize(Decimal("1.000000")) == Decimal("1.666667")
    assert stats["1002"]["reply_like_ratio"] == 2
    assert stats["1004"]["reply_like_ratio"] is None
    assert stats["1004"]["replies"] == 0
    assert stats["1004"]["first_reply_at"] is None


def test_format_comes_from_the_tags_case_insensitively_by_precedence(
    stats: dict[str, dict[str, Any]],
) -> None:
    assert stats["1001"]["format"] == "qa"
    assert stats["1002"]["format"] == "innovator_spotlight"  # beats #AMA
    assert stats["1003"]["format"] == "city_question"
    assert stats["1004"]["format"] == "other"
    assert stats["1001"]["tags"] == ["qena", "wonen"]


def test_city_replies_count_the_channels_answers_in_its_thread(stats: dict[str, dict[str, Any]]) -> None:
    assert stats["1001"]["city_replies"] == 2
    assert stats["1003"]["city_replies"] == 1
    assert stats["1002"]["city_replies"] == 0


def test_answered_share_is_answered_within_72h_over_addressed_replies_older_than_72h(
    stats: dict[str, dict[str, Any]],
) -> None:
    # P1: 1101 answered in 1.5 h, 1105 answered after 96 h, 1104 (mention in thread) never
    assert stats["1001"]["answered_share"].quantize(Decimal("1.000000")) == Decimal("0.333333")
    assert stats["1002"]["answered_share"] == 0
    assert stats["1003"]["answered_share"] == Decimal("0.5")
    assert stats["1004"]["answered_share"] is None


def test_a_changed_format_map_applies_at_once(database_url: str) -> None:
    from ingester.formats import apply_formats, parse_formats

    build_world(database_url)
    with psycopg.connect(database_url) as conn:
        apply_formats(conn, parse_formats("Wonen=housing,QenA=qa"))
        rows = dict(conn.execute("SELECT post_id, format FROM kpi.post_stats").fetchall())
    assert rows["1001"] == "housing"
    assert rows["1002"] == "other"
