"""The Live board's session panels show exactly the contract's figures (kpi.post_stats,
kpi.response_times) for the chosen post, on a simulated channel written through the real sink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import mean

import psycopg
import pytest
from test_grafana_boards import options, run, run_board
from test_grafana_scenario import Scenario, baseline_week, install_time_bucket_shim, live_session

from ingester.events import InteractionKind
from ingester.grafana.boards_live import live_qa
from ingester.grafana.macros import TimeRange
from ingester.grafana.texts_live import TEXTS
from ingester.i18n import LANGUAGES, Language

# (days ago, replies, first resident): residents 5-9 of the second one reply in the live session too
PREVIOUS = ((6, 8, 20), (4, 12, 5), (2, 6, 40))
LIVE_FOR = timedelta(minutes=19)  # how long the live session has run: each earlier one had 6 replies by then


def previous_session(s: Scenario, days: int, replies: int, first: int) -> str:
    """A finished Q&A: replies a few minutes apart, the city answering every other one a minute later."""
    start = timedelta(days=days)
    qa = s.post(start, ("QenA",))
    for i in range(replies):
        ago = start - timedelta(minutes=2 + 3 * i)
        reply = s.reply(ago, qa, by=first + i)
        if i % 2 == 0:
            s.post(ago - timedelta(minutes=1 + i), (), answer_to=reply, answer_to_account="r")
        s.interact(ago, InteractionKind.FAVOURITE, qa, by=700 + i)
    return qa


async def channel_with_sessions(dsn: str) -> tuple[Scenario, list[str], str]:
    s = Scenario(datetime.now(UTC))
    baseline_week(s)
    earlier = [previous_session(s, *p) for p in PREVIOUS]
    qa = live_session(s, started=LIVE_FOR)
    s.post(timedelta(minutes=10), ("Afval",))  # a newer post that is not a Q&A
    await s.write(dsn)
    install_time_bucket_shim(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")  # as autovacuum would have by now: unanalysed tiny tables get nested-loop plans
    return s, earlier, qa


def contract(conn: psycopg.Connection, post_id: str) -> dict[str, float | None]:
    """The figures for one post, straight from the contract views (not from kpi.sessions)."""
    replies, repliers, ratio, posted_at, channel = conn.execute(
        "SELECT replies, repliers, reply_like_ratio, posted_at, channel FROM kpi.post_stats WHERE post_id = %s",
        (post_id,)).fetchone()
    waiting, median, longest = conn.execute(
        """SELECT count(*) FILTER (WHERE answered_at IS NULL),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds), max(response_seconds)
             FROM kpi.response_times WHERE post_id = %s""", (post_id,)).fetchone()
    # new = the replier's first engagement with the channel (any kind, any post) is at/after the post
    (new,) = conn.execute(
        """SELECT count(*) FROM (
             SELECT DISTINCT e.account_key FROM kpi.engagements e
              WHERE e.channel = %(ch)s AND e.kind = 'reply' AND e.thread_root_id = %(post)s) a
            WHERE (SELECT min(x.occurred_at) FROM kpi.engagements x
                    WHERE x.channel = %(ch)s AND x.account_key = a.account_key) >= %(at)s""",
        {"ch": channel, "post": post_id, "at": posted_at}).fetchone()
    return {"replies": float(replies), "participants": float(repliers), "new": float(new),
            "returning": float(repliers - new), "ratio": None if ratio is None else float(ratio),
            "median": median, "longest": longest, "waiting": float(waiting)}


def session_figures(results: dict[str, list[tuple]]) -> dict[str, float | None]:
    return {k: results[f"session.{k}"][0][0] for k in
            ("replies", "participants", "new", "returning", "ratio", "median", "longest", "waiting")}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_session_panels_equal_post_stats_and_response_times_for_the_default_session(
    database_url: str, lang: Language
) -> None:
    s, earlier, qa = await channel_with_sessions(database_url)
    results = run_board(database_url, live_qa(lang), {"channel": "amsterdam"})  # session: Grafana's default
    with psycopg.connect(database_url) as conn:
        want = contract(conn, qa)
    assert session_figures(results) == pytest.approx(want)
    # the scenario exercises every figure: returning residents, new ones, answered and waiting replies
    assert want["new"] and want["returning"] and want["median"] and want["waiting"]
    assert sum(r[1] for r in results["session.per_minute"]) == want["replies"]
    assert len(results["session.queue"]) == want["waiting"]


async def test_a_picked_earlier_session_shows_its_own_figures(database_url: str) -> None:
    s, earlier, qa = await channel_with_sessions(database_url)
    results = run_board(database_url, live_qa("en"), {"channel": "amsterdam", "session": earlier[1]})
    with psycopg.connect(database_url) as conn:
        want = contract(conn, earlier[1])
    assert session_figures(results) == pytest.approx(want)
    assert want["replies"] == 12 and want["waiting"] == 6 and want["returning"] == 0  # nobody had been seen before


async def test_the_session_sits_beside_the_average_of_the_channels_previous_sessions(database_url: str) -> None:
    s, earlier, qa = await channel_with_sessions(database_url)
    results = run_board(database_url, live_qa("en"), {"channel": "amsterdam"})
    # rows are labelled in the board's language: read them by their catalogue key (k.replies, ...)
    key = {TEXTS.text("en", k): k.removeprefix("k.") for k in TEXTS.keys() if k.startswith("k.")}
    table = {key[row[0]]: (float(row[1]), float(row[2])) for row in results["session.compare"]}
    with psycopg.connect(database_url) as conn:
        now, before = contract(conn, qa), [contract(conn, p) for p in earlier]
    assert table["replies"] == (now["replies"], round(mean(p["replies"] for p in before), 2))  # shown rounded
    assert table["participants"][1] == pytest.approx(round(mean(p["participants"] for p in before), 2))
    assert table["median"] == (
        pytest.approx(round(now["median"] / 60, 2)),
        pytest.approx(round(mean(p["median"] for p in before) / 60, 2)))
    assert table["waiting"][1] == pytest.approx(round(mean(p["waiting"] for p in before), 2))
    # the pace: replies 2, 5, 8, ... minutes after each earlier post, so 6 of each within the first 19
    assert table["at_this_point"] == (now["replies"], 6.0)


async def test_the_default_session_is_the_newest_qa_post_and_any_post_can_be_picked(database_url: str) -> None:
    s, earlier, qa = await channel_with_sessions(database_url)
    rng = TimeRange(s.now - timedelta(hours=3), s.now)
    board = live_qa("nl")
    with psycopg.connect(database_url) as conn:
        default = {v.name: v.values for v in options(conn, board, rng, {"channel": "amsterdam"})}
        session = next(v for v in board.variables if v.name == "session")
        cols, rows = run(conn, session.sql.replace("$channel", "'amsterdam'"))
    assert default["session"] == (qa,)  # not the newer non-Q&A post
    offered = [r[cols.index("__value")] for r in rows]
    assert offered[:4] == [qa, *reversed(earlier)]  # Q&A sessions first, newest first
    assert len(offered) == 4 + 7 + 1  # and then every other post of the channel (a week of posts, the newest)
    assert rows[0][cols.index("__text")].endswith("40 reacties")


async def test_session_panels_have_one_value_each_before_any_session_exists(database_url: str) -> None:
    install_time_bucket_shim(database_url)
    results = run_board(database_url, live_qa("nl"), {"channel": None, "session": None})
    assert [results[f"session.{k}"] for k in ("replies", "participants", "waiting")] == [[(0.0,)]] * 3
    assert results["session.median"] == [(None,)] and results["session.compare"] == []
