"""kpi.response_times, kpi.unanswered (the team's inbox) and kpi.replies_live (the live board)."""

from __future__ import annotations

import psycopg
import pytest

from test_kpi_world import World, build_world, t


@pytest.fixture
def world(database_url: str) -> World:
    return build_world(database_url)


def test_response_times_cover_exactly_the_replies_addressed_to_the_city(
    database_url: str, world: World,
) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT reply_id, channel, post_id, answered_at, response_seconds FROM kpi.response_times"
            " ORDER BY reply_id"
        ).fetchall()
    assert rows == [
        ("1101", "ams", "1001", t(3, 28, 12, 30), 5400.0),     # reply to the post
        ("1104", "ams", "1001", None, None),                    # deep, but mentions the city
        ("1105", "ams", "1001", t(4, 1, 14), 345600.0),        # reply to the city's answer
        ("1111", "ams", "1002", None, None),
        ("1112", "ams", "1002", None, None),
        ("1121", "ams", "1003", None, None),
        ("1122", "ams", "1003", t(10, 25, 0, 30), 7200.0),
        ("2101", "zuid", "2001", None, None),
    ]  # not 1102/1103: deep replies to residents that do not mention the city


def test_the_inbox_lists_unanswered_replies_oldest_first_with_handle_text_and_link(
    database_url: str, world: World,
) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT reply_id, account, content, url FROM kpi.unanswered").fetchall()
    assert [r[0] for r in rows] == ["2101", "1104", "1111", "1112", "1121"]
    assert rows[0][1:] == ("a@social.example", "<p>tekst</p>", "https://social.example/@a/2101")


def test_an_answer_takes_a_reply_out_of_the_inbox(database_url: str, world: World) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            """INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                 in_reply_to_id, thread_root_id, source)
               VALUES ('zuid', '2201', %s, 'own_post', 'k_zuid', '2101', '2001', 'stream')""",
            (t(3, 28, 13),),
        )
        ids = [r[0] for r in conn.execute("SELECT reply_id FROM kpi.unanswered")]
        secs = conn.execute(
            "SELECT response_seconds FROM kpi.response_times WHERE reply_id = '2101'"
        ).fetchone()[0]
    assert "2101" not in ids and secs == 1800.0


def test_the_live_board_shows_every_reply_in_the_threads_newest_first(
    database_url: str, world: World,
) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT reply_id, post_id, addressed FROM kpi.replies_live WHERE channel = 'ams'"
        ).fetchall()
    assert [r[0] for r in rows] == ["1121", "1122", "1112", "1111", "1104", "1105", "1103", "1102", "1101"]
    assert {r[0]: r[2] for r in rows}["1103"] is False
    assert {r[1] for r in rows} == {"1001", "1002", "1003"}
