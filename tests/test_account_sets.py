"""The every-format account sets and the month prefixes of "seen before" (025, views/29): what
kpi.summary's returning accounts read instead of every day set since the first. The randomised
comparison with raw events is tests/test_kpi_rollups_random.py; these are the cases a prefix must get
right on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

NOW = datetime.now(UTC)
LAST_MONTH = NOW - timedelta(days=45)


def favourite(conn: psycopg.Connection, nid: str, at: datetime, account: str, channel: str = "ams") -> None:
    conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                    account_key, source)
                    VALUES (%s, %s, %s, 'favourite', 'p1', %s, 'stream')""", (channel, nid, at, account))


def returning(conn: psycopg.Connection, since: datetime) -> int:
    return conn.execute("SELECT returning_accounts FROM kpi.summary(%s, now(), 'ams')", (since,)).fetchone()[0]


def prefixes(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM pulse.rollup_seen").fetchone()[0]


def test_the_retention_job_makes_the_month_prefixes_once(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        favourite(conn, "n1", LAST_MONTH, "a")
        made = conn.execute("SELECT rows FROM pulse.apply_retention() WHERE what = 'account_prefixes_made'").fetchone()[0]
        assert made >= 2 and prefixes(conn) == made  # the format's and every format's
        assert conn.execute("SELECT rows FROM pulse.apply_retention() WHERE what = 'account_prefixes_made'").fetchone()[0] == 0


def test_a_late_event_of_an_earlier_month_joins_the_prefixes_after_it(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        favourite(conn, "n1", LAST_MONTH, "a")
        conn.execute("SELECT pulse.rollup_seen_advance()")
        favourite(conn, "n2", NOW - timedelta(hours=2), "b")
        assert returning(conn, NOW - timedelta(hours=3)) == 0
        favourite(conn, "n3", LAST_MONTH - timedelta(days=1), "b")   # b was there before after all
        assert prefixes(conn) > 0
        assert returning(conn, NOW - timedelta(hours=3)) == 1


def test_deleting_an_accounts_only_earlier_event_makes_it_new_again(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        favourite(conn, "n1", LAST_MONTH, "a")
        favourite(conn, "n2", NOW - timedelta(hours=2), "a")
        conn.execute("SELECT pulse.rollup_seen_advance()")
        assert returning(conn, NOW - timedelta(hours=3)) == 1
        conn.execute("DELETE FROM pulse.interactions WHERE notification_id = 'n1'")
        assert returning(conn, NOW - timedelta(hours=3)) == 0
        conn.execute("SELECT pulse.rollup_seen_advance()")          # made again, without a
        assert prefixes(conn) > 0
        assert returning(conn, NOW - timedelta(hours=3)) == 0


def test_every_format_sets_are_the_union_of_the_format_sets(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for i in range(30):
            favourite(conn, f"n{i}", NOW - timedelta(hours=i * 7), f"acct{i % 11}", ("ams", "zuid")[i % 2])
        conn.execute("DELETE FROM pulse.interactions WHERE notification_id IN ('n3', 'n8', 'n20')")
        union = conn.execute("""SELECT grain, bucket, channel, bit_count(pulse.bits_union(accounts))
                                  FROM pulse.rollup_accounts GROUP BY 1, 2, 3 HAVING bit_count(pulse.bits_union(accounts)) > 0
                                 ORDER BY 1, 2, 3""").fetchall()
        assert union
        assert conn.execute("SELECT grain, bucket, channel, n FROM pulse.rollup_accounts_all WHERE n > 0"
                            " ORDER BY 1, 2, 3").fetchall() == union
