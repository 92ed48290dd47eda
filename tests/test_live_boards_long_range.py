"""The Live board's channel panels and the Ingester health board's graphs over 90 days read rollups, not
the range's events or heartbeats: as Grafana sends them (2-hour buckets, every channel), each reads at
most the few rows of the range's partial edge hours from pulse.statuses, pulse.interactions and
pulse.heartbeats (counted by PostgreSQL's per-transaction table statistics), and the same panels over
their default range still show minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingester.grafana.boards_live import health, live_qa
from ingester.grafana.macros import TimeRange, Variable, expand
from ingester.grafana.model import Dashboard

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1, seconds=17)
RANGE = TimeRange(NOW - timedelta(days=90), NOW)
TWO_HOURS = timedelta(hours=2)  # Grafana's $__interval for 90 days on a panel ~1,000 pixels wide
ALL = Variable("channel", ("ams", "zuid"), include_all=True, all_value="NULL", is_all=True)
EVENT_TABLES = ("statuses", "interactions", "heartbeats")
LIVE = ("replies", "participants", "per_minute", "likes_per_minute")
HEALTH = ("events", "lag", "connected", "catchup", "backlog")
PLANNER_PEEKS = 4


@pytest.fixture
def quarter(database_url: str) -> str:
    """90 days of two channels: an engagement every ~20 minutes (follows and mentions outside threads
    among them), heartbeats every minute over the last 30 days (the retention), written by statements
    shaped like the sink's and the ingester's, so the triggers keep the rollups."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("""INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, tags,
                                                    thread_root_id, source, ingested_at)
                        SELECT ch, ch || '-p' || d, %(start)s + d * interval '1 day', 'own_post', 'city', '{qena}',
                               ch || '-p' || d, 'rest', %(start)s + d * interval '1 day' + interval '3 seconds'
                          FROM generate_series(0, 89) d, unnest(ARRAY['ams', 'zuid']) ch""", {"start": RANGE.start})
        for day in range(90):
            conn.execute("""INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key,
                                                        in_reply_to_id, thread_root_id, source, ingested_at)
                            SELECT ch, ch || '-r' || %(d)s || '-' || i, %(start)s + %(d)s * interval '1 day'
                                     + i * interval '20 minutes', CASE WHEN i %% 9 = 0 THEN 'mention' ELSE 'reply' END,
                                   'acct' || (i * 7 + %(d)s) %% 50,
                                   CASE WHEN i %% 9 <> 0 THEN ch || '-p' || %(d)s END,
                                   CASE WHEN i %% 9 <> 0 THEN ch || '-p' || %(d)s END, 'stream',
                                   %(start)s + %(d)s * interval '1 day' + i * interval '20 minutes' + interval '2 seconds'
                              FROM generate_series(0, 71) i, unnest(ARRAY['ams', 'zuid']) ch""",
                         {"d": day, "start": RANGE.start})
            conn.execute("""INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id,
                                                            account_key, source, ingested_at)
                            SELECT ch, ch || '-n' || %(d)s || '-' || i, %(start)s + %(d)s * interval '1 day'
                                     + i * interval '20 minutes' + interval '7 minutes',
                                   (ARRAY['favourite', 'reblog', 'follow'])[1 + i %% 3],
                                   CASE WHEN i %% 3 <> 2 THEN ch || '-p' || %(d)s END,
                                   -- a follower follows once and may never react: the participants
                                   -- panel probes such accounts one by one
                                   CASE WHEN i %% 3 <> 2 THEN 'fan' || i %% 60 ELSE 'follower' || ch || %(d)s || '-' || i END,
                                   'stream', %(start)s + %(d)s * interval '1 day' + i * interval '20 minutes'
                                             + interval '7 minutes 2 seconds'
                              FROM generate_series(0, 71) i, unnest(ARRAY['ams', 'zuid']) ch""",
                         {"d": day, "start": RANGE.start})
        for minute in range(0, 30 * 24 * 60, 360):  # six hours of heartbeats per statement
            conn.execute("""INSERT INTO pulse.heartbeats (channel, at, stream_connected, lag_seconds, catchup_runs_total,
                                                          catchup_pages_total, reconnects_total, spool_depth)
                            SELECT ch, %(now)s - (%(m)s + k) * interval '1 minute', k %% 97 <> 0, 0.5 + k %% 5,
                                   (%(m)s + k) / 30, (%(m)s + k) / 10, (%(m)s + k) / 600, k %% 4
                              FROM generate_series(0, 359) k, unnest(ARRAY['ams', 'zuid']) ch""",
                         {"now": NOW, "m": minute})
        conn.execute("VACUUM ANALYZE")
    return database_url


def rows_read(conn: psycopg.Connection) -> dict[str, int]:
    """Rows this session has read from each event table (and its chunks on TimescaleDB) and not yet
    reported to the shared statistics, which it does only between transactions."""
    out = {}
    for table in EVENT_TABLES:
        (n,) = conn.execute(
            """SELECT coalesce(sum(s.seq_tup_read + coalesce(s.idx_tup_fetch, 0)), 0)
                 FROM pg_stat_xact_user_tables s
                WHERE s.relid = %(t)s::regclass
                   OR s.relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %(t)s::regclass)""",
            {"t": f"pulse.{table}"}).fetchone()  # type: ignore[misc]
        out[table] = int(n)
    return out


def panel_sql(board: Dashboard, key: str, rng: TimeRange, interval: timedelta) -> str:
    panel = next(p for p in board.panels if p.key == key)
    return expand(panel.query.sql, rng, variables=[ALL], interval=interval, timescaledb=False).sql


def edge_rows(conn: psycopg.Connection) -> dict[str, int]:
    """The most rows a 90-day panel may read per table: what the partial hours at both ends of the
    range hold (and the 5 minutes before it, which the catch-up panel compares its first heartbeat
    with), and for interactions one row per account that only followed (the participants panel probes
    each such account's rows in the range)."""
    first = RANGE.start.replace(minute=0, second=0) + timedelta(hours=1)
    last = RANGE.end.replace(minute=0, second=0)
    edges = {"lo": RANGE.start - timedelta(minutes=5), "a": first, "b": last, "hi": RANGE.end}
    counts = {}
    for table, col in (("statuses", "created_at"), ("interactions", "occurred_at"), ("heartbeats", "at")):
        (counts[table],) = conn.execute(
            f"SELECT count(*) FROM pulse.{table} WHERE ({col} >= %(lo)s AND {col} < %(a)s)"
            f" OR ({col} >= %(b)s AND {col} < %(hi)s)", edges).fetchone()  # type: ignore[misc]
    (followers,) = conn.execute("SELECT count(*) FROM pulse.interactions WHERE account_key LIKE 'follower%%'"
                                " AND occurred_at >= %(lo)s AND occurred_at < %(hi)s", edges).fetchone()  # type: ignore[misc]
    counts["interactions"] += followers
    counts["heartbeats"] += 2  # each channel's oldest heartbeat, looked up once
    # and the planner: a bound beyond a column's statistics makes it read the index's first or last row
    return {table: n + PLANNER_PEEKS for table, n in counts.items()}


def test_over_90_days_every_channel_panel_reads_rollups_and_at_most_the_edge_hours_rows(quarter: str) -> None:
    panels = [(live_qa("en"), k) for k in LIVE] + [(health("en"), k) for k in HEALTH]
    with psycopg.connect(quarter) as conn:
        limit = edge_rows(conn)
        for board, key in panels:
            conn.commit()
            # one transaction: counts not yet reported to the shared statistics only grow inside it
            before = rows_read(conn)
            rows = conn.execute(panel_sql(board, key, RANGE, TWO_HOURS).encode()).fetchall()
            read = {t: n - before[t] for t, n in rows_read(conn).items()}
            assert rows, key
            assert all(read[t] <= limit[t] for t in EVENT_TABLES), (key, read, limit)


@pytest.mark.parametrize("key", ["lag", "catchup"])
def test_over_the_default_six_hours_the_heartbeat_graphs_still_show_minutes(quarter: str, key: str) -> None:
    # Grafana's own interval for six hours is 30 seconds: the panel's minimum interval keeps it at a minute
    panel = next(p for p in health("en").panels if p.key == key)
    assert panel.to_json(1, 0, 0)["interval"] == "1m"
    rng = TimeRange(NOW - timedelta(hours=6), NOW)
    with psycopg.connect(quarter) as conn:
        times = [r[0] for r in conn.execute(panel_sql(health("en"), key, rng, timedelta(minutes=1)).encode())]
    seconds = [t.timestamp() if isinstance(t, datetime) else float(t) for t in times]
    assert len(seconds) > 300 and {b - a for a, b in zip(seconds, seconds[1:])} == {60.0}
