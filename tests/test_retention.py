"""Retention: `pulse.apply_retention(...)` and its driver `ingester.retention`, on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psycopg
import pytest
from pydantic import ValidationError

from ingester.clock import ScaledClock
from ingester.retention import RetentionSettings, retention_loop, run_retention
from tcpproxy import TcpProxy  # tests/ is on sys.path (rootdir conftest, no __init__.py)

NOW = datetime.now(timezone.utc)
# The fields the retention policy touches, as in the recorded reply (../shared/mastodon/entities/status-reply.json).
REPLY = {
    "id": "117020583258292382",
    "created_at": "2026-08-01T13:53:15.910Z",
    "in_reply_to_id": "117020583245459824",
    "in_reply_to_account_id": "117020566092212359",
    "url": "http://localhost:3000/@admin/117020583258292382",
    "content": '<p><span class="h-card" translate="no"><a href="http://localhost:3000/@mastodonpy_test_2" '
               'class="u-url mention">@<span>mastodonpy_test_2</span></a></span> same!</p>',
    "language": "en",
    "visibility": "public",
}
ACTIONS = ["reply_text_purged", "other_statuses_deleted", "dead_letters_deleted", "heartbeats_deleted",
           "account_prefixes_made"]


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def add_status(
    conn: psycopg.Connection,
    status_id: str,
    created_at: datetime,
    relation: str = "reply",
    *,
    thread_root_id: str | None = None,
) -> None:
    conn.execute(
        """INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                                       in_reply_to_id, thread_root_id, url, content, source)
           VALUES ('main', %s, %s, %s, 'k1', %s, %s, %s, %s, 'stream')""",
        (
            status_id,
            created_at,
            relation,
            REPLY["in_reply_to_id"] if relation == "reply" else None,
            thread_root_id,
            REPLY["url"],
            REPLY["content"],
        ),
    )


def status(conn: psycopg.Connection, status_id: str) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT content, url, text_purged_at FROM pulse.statuses WHERE status_id = %s", (status_id,)
    ).fetchone()


def apply(conn: psycopg.Connection, *args: int) -> dict[str, int]:
    placeholders = ", ".join(["%s"] * len(args))
    rows = conn.execute(f"SELECT what, rows FROM pulse.apply_retention({placeholders})", args).fetchall()
    return dict(rows)


def test_old_reply_text_is_purged_while_the_row_and_the_counts_stay(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "1", days_ago(200))
        add_status(conn, "2", days_ago(10))
        before = conn.execute("SELECT kind, count(*) FROM kpi.engagements GROUP BY kind").fetchall()
        assert apply(conn)["reply_text_purged"] == 1
        content, url, purged_at = status(conn, "1")
        assert content is None and url is None and purged_at is not None
        assert status(conn, "2")[0] == REPLY["content"]
        after = conn.execute("SELECT kind, count(*) FROM kpi.engagements GROUP BY kind").fetchall()
        assert after == before == [("reply", 2)]


def test_the_channels_own_posts_keep_their_text(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "10", days_ago(400), relation="own_post")
        assert apply(conn)["reply_text_purged"] == 0
        assert status(conn, "10")[0] == REPLY["content"]


def test_mentions_and_quotes_count_as_resident_text_too(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "20", days_ago(181), relation="mention")
        add_status(conn, "21", days_ago(181), relation="quote")
        assert apply(conn)["reply_text_purged"] == 2
        assert status(conn, "20")[0] is None and status(conn, "21")[0] is None


def test_text_period_is_configurable(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "30", days_ago(40))
        assert apply(conn, 60)["reply_text_purged"] == 0
        assert apply(conn, 30)["reply_text_purged"] == 1


def test_the_periods_count_back_from_as_of_when_the_caller_passes_its_clock(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "35", days_ago(40))
        purge = "SELECT rows FROM pulse.apply_retention(14, 7, 30, 30, %s) WHERE what = 'reply_text_purged'"
        assert conn.execute(purge, (days_ago(30),)).fetchone()[0] == 0  # 10 days old then
        assert conn.execute(purge, (days_ago(20),)).fetchone()[0] == 1  # 20 days old then


def test_unplaced_other_statuses_are_deleted_after_other_days(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "40", days_ago(8), relation="other")
        add_status(conn, "41", days_ago(8), relation="other", thread_root_id="99")
        add_status(conn, "42", days_ago(2), relation="other")
        assert apply(conn)["other_statuses_deleted"] == 1
        assert status(conn, "40") is None
        assert status(conn, "41") is not None and status(conn, "42") is not None


def test_old_dead_letters_and_heartbeats_are_deleted(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for age in (31, 29):
            conn.execute(
                "INSERT INTO pulse.dead_letters (channel, received_at, source, reason, payload)"
                " VALUES ('main', %s, 'stream', 'bad json', %s)",
                (days_ago(age), json.dumps(REPLY)[:50]),
            )
            conn.execute(
                "INSERT INTO pulse.heartbeats (channel, at, stream_connected) VALUES ('main', %s, true)",
                (days_ago(age),),
            )
        result = apply(conn)
        assert result["dead_letters_deleted"] == 1 and result["heartbeats_deleted"] == 1
        assert conn.execute("SELECT count(*) FROM pulse.dead_letters").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM pulse.heartbeats").fetchone()[0] == 1


def test_running_twice_changes_nothing_the_second_time(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "50", days_ago(200))
        add_status(conn, "51", days_ago(9), relation="other")
        first = apply(conn)
        snapshot = conn.execute("SELECT status_id, content, text_purged_at FROM pulse.statuses").fetchall()
        second = apply(conn)
        assert sum(n for what, n in first.items() if what != "account_prefixes_made") == 2
        assert second == dict.fromkeys(ACTIONS, 0)
        assert conn.execute("SELECT status_id, content, text_purged_at FROM pulse.statuses").fetchall() == snapshot


def test_the_result_names_every_action_in_a_fixed_order_even_when_nothing_is_due(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT what, rows FROM pulse.apply_retention()").fetchall()
    assert rows == [(what, 0) for what in ACTIONS]


def test_a_period_below_one_day_is_refused_with_a_clear_message(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "60", days_ago(1))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="text_days=0"):
            apply(conn, 0)
        assert status(conn, "60")[0] == REPLY["content"]


def test_retention_settings_refuse_zero_days() -> None:
    with pytest.raises(ValidationError):
        RetentionSettings(text_days=0)


async def test_run_retention_returns_rows_per_action(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "70", days_ago(15))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        result = await run_retention(pool, RetentionSettings(text_days=14))
        made = result["account_prefixes_made"]  # 2 when 15 days ago was last month, else 0
        assert result == {**dict.fromkeys(ACTIONS, 0), "reply_text_purged": 1, "account_prefixes_made": made}
        assert await run_retention(pool, RetentionSettings(text_days=14)) == dict.fromkeys(ACTIONS, 0)
    finally:
        await pool.close()


async def test_the_loop_survives_a_database_outage_and_applies_the_policy_afterwards(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "80", days_ago(200))
    target = urlsplit(database_url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        netloc = target.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{proxy.port}"
        pool = await asyncpg.create_pool(target._replace(netloc=netloc).geturl(), min_size=0, max_size=1)
        results: list[dict[str, int]] = []
        errors: list[BaseException] = []
        stop = asyncio.Event()
        proxy.cut()
        task = asyncio.create_task(
            retention_loop(
                pool, 0.05, RetentionSettings(), retry_seconds=0.05,
                on_result=results.append, on_error=errors.append, stop=stop,
            )
        )
        try:
            async with asyncio.timeout(10):
                while len(errors) < 2:
                    await asyncio.sleep(0.02)
                assert results == [] and not task.done()
                proxy.restore()
                while not results:
                    await asyncio.sleep(0.02)
            stop.set()
            await asyncio.wait_for(task, timeout=5)
        finally:
            task.cancel()
            pool.terminate()
    assert results[0]["reply_text_purged"] == 1
    with psycopg.connect(database_url) as conn:
        assert status(conn, "80")[0] is None


async def test_the_loop_runs_on_the_service_clock_and_expires_rows_by_its_calendar(database_url: str) -> None:
    # A calendar ten days behind real time, running a day per real second: the reply is half a day old
    # on it at the start and passes the one-day text period about half a real second later.
    origin = days_ago(10)
    with psycopg.connect(database_url, autocommit=True) as conn:
        add_status(conn, "90", origin - timedelta(hours=12))
    clock = ScaledClock(origin, anchor=time.time(), speed=86400)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    results: list[dict[str, int]] = []
    stop = asyncio.Event()
    # every hour of the calendar: about 24 runs per real second
    task = asyncio.create_task(
        retention_loop(pool, 3600, RetentionSettings(text_days=1), on_result=results.append, stop=stop, clock=clock)
    )
    try:
        async with asyncio.timeout(5):
            while not any(r["reply_text_purged"] for r in results):
                await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    finally:
        task.cancel()
        await pool.close()
    assert results[0]["reply_text_purged"] == 0  # still under a day old on the calendar
    assert 3 <= len(results) <= 40  # hourly on the calendar, not once an hour of real time
    with psycopg.connect(database_url) as conn:
        purged_at = status(conn, "90")[2]
    assert origin + timedelta(hours=12) <= purged_at <= origin + timedelta(days=5)  # stamped on the calendar
