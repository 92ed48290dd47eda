"""The world bench/kpi.py measures: 90 days of a busy channel (and a small second one), in SQL.

At --scale 1 the channel `ams` has 900 posts (ten a day, four formats) and 5.05 million
engagements: 1.5 M replies in its threads (a third deep, some of those mentioning the city),
3 M favourites, 0.5 M boosts, 50 k follows, plus quotes and mentions outside threads; the city
answers some replies (Q&A threads more often); REST snapshots exist for older posts (some older
than the newest like, so both counting rules of kpi.post_stats are used). A second channel `rdam`
gets a twentieth of that, so "every channel" differs from one. Accounts are skewed so that many
return. Every board has something to show: handles for the live tables, entry-route counts,
heartbeats every 5 s over the heartbeat retention (30 days; coarser below scale 1), dead letters,
and a data-origin row.

Event times are distinct (whole random seconds plus the row number in microseconds) and never in
the future, so queries that order and LIMIT give one answer, and the 'now' of a run covers them all.
"""

from __future__ import annotations

import time

import psycopg

DAYS = 90
ACCOUNTS = 200_000
# (channel, share of the engagements, posts, first status id)
CHANNELS = (("ams", 1.0, 900, 1_000_000_000), ("rdam", 0.05, 90, 2_000_000_000))


def _at(i: str, tp: str, window: str = "3 days") -> str:
    """A moment after `tp`, skewed towards it (most reactions come early), at most `window` later
    and at least two minutes before now; unique per row number `i`."""
    return (f"({tp} + floor(random() ^ 3 * least(extract(epoch FROM interval '{window}'),"
            f" extract(epoch FROM now() - interval '2 minutes' - ({tp})))) * interval '1 second'"
            f" + ({i} % 1000000) * interval '1 microsecond')")


def accounts_pool(scale: float) -> int:
    """200,000 residents at scale 0.2 and above; fewer below, so a small world still has regulars."""
    return max(1000, int(ACCOUNTS * min(1.0, 5 * scale)))


def _channel(conn: psycopg.Connection, name: str, share: float, posts: int, base: int, scale: float) -> None:
    step = DAYS * 24 * 3600 // posts
    n_replies, n_favs, n_reblogs = (int(n * scale * share) for n in (1_500_000, 3_000_000, 500_000))
    n_follows, n_quotes, n_mentions = (int(n * scale * share) for n in (50_000, 20_000, 20_000))
    accounts = max(1000, int(accounts_pool(scale) * share))
    tp = f"(t0 + ((i % {posts}) * {step}) * interval '1 second')"  # the post row i is about
    post = f"({base} + i % {posts})::text"
    who = f"'acct' || floor({accounts} * random() ^ 2)::int"
    key = f"k_{name}"
    conn.execute("INSERT INTO pulse.channels (channel, account_id, account_key, acct, base_url)"
                 " VALUES (%s, '1', %s, %s, 'https://x')", (name, key, f"{name}@x"))
    # posts; tags give the formats: qa, innovator_spotlight, city_question, other (in that order)
    conn.execute(f"""
      INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, url, tags, source, ingested_at)
      SELECT '{name}', ({base} + p)::text, t0 + p * interval '{step} seconds', 'own_post', '{key}',
             'https://x/{name}/' || p,
             ARRAY[(ARRAY['qena', 'InnovatorSpotlight', 'vraagvandegemeente', 'wonen'])[1 + p % 4]], 'rest',
             t0 + p * interval '{step} seconds' + interval '3 seconds'
        FROM generate_series(0, {posts - 1}) p, params""")
    # replies in the thread of post i % posts: direct ones (addressed to the city) and deep ones
    # (replying to an earlier reply; one in three of those mentions the city, so it is addressed too)
    deep = f"(i % 3 = 0 AND i >= {posts})"
    conn.execute(f"""
      INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, in_reply_to_id,
                                  mentions_channel, thread_root_id, content, url, source, ingested_at)
      SELECT '{name}', r.id, r.at,
             CASE WHEN NOT {deep} THEN 'reply' WHEN i % 9 = 0 THEN 'mention' ELSE 'other' END,
             {who},
             CASE WHEN {deep} THEN ({base + 10_000_000} + i - {posts})::text ELSE {post} END,
             NOT {deep} OR i % 9 = 0, {post}, '<p>tekst ' || i || '</p>', 'https://y/' || r.id, 'stream',
             r.at + interval '2 seconds'
        FROM generate_series(0, {n_replies - 1}) i, params,
             LATERAL (SELECT ({base + 10_000_000} + i)::text AS id, {_at('i', tp)} AS at) r""")
    # the city answers one addressed reply in fifty (one in five in Q&A threads), within 3 hours,
    # when that moment has passed
    conn.execute(f"""
      INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, in_reply_to_id,
                                  thread_root_id, url, source, ingested_at)
      SELECT '{name}', (status_id::bigint + {50_000_000})::text, a.at, 'own_post', '{key}', status_id,
             thread_root_id, 'https://x/{name}/a' || status_id, 'rest', a.at + interval '3 seconds'
        FROM pulse.statuses,
             LATERAL (SELECT created_at + (1 + status_id::bigint % 10799) * interval '1 second' AS at) a
       WHERE channel = '{name}' AND relation IN ('reply', 'mention') AND thread_root_id IS NOT NULL
         AND a.at < now() - interval '1 minute'
         AND (status_id::bigint % 50 = 0 OR ((thread_root_id::bigint - {base}) % 4 = 0 AND status_id::bigint % 5 = 0))""")
    # quotes of the posts, and mentions of the city outside any thread
    conn.execute(f"""
      INSERT INTO pulse.statuses (channel, status_id, created_at, relation, account_key, quoted_id,
                                  mentions_channel, content, url, source, ingested_at)
      SELECT '{name}', ({base + 20_000_000} + i)::text, q.at, 'quote', {who}, {post}, false,
             '<p>kijk</p>', 'https://y/q' || i, 'stream', q.at + interval '2 seconds'
        FROM generate_series(0, {n_quotes - 1}) i, params, LATERAL (SELECT {_at('i', tp)} AS at) q
      UNION ALL
      SELECT '{name}', ({base + 30_000_000} + i)::text, m.at, 'mention', {who}, NULL, true,
             '<p>@{name} hallo</p>', 'https://y/m' || i, 'stream', m.at + interval '2 seconds'
        FROM generate_series(0, {n_mentions - 1}) i, params,
             LATERAL (SELECT t0 + floor(random() * {DAYS * 86400 - 600}) * interval '1 second'
                             + (i % 1000000) * interval '1 microsecond' AS at) m""")
    for kind, n, off in (("favourite", n_favs, 100_000_000), ("reblog", n_reblogs, 200_000_000)):
        conn.execute(f"""
          INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id, account_key,
                                          source, ingested_at)
          SELECT '{name}', ({base + off} + i)::text, e.at, '{kind}', {post}, {who}, 'stream',
                 e.at + interval '2 seconds'
            FROM generate_series(0, {n - 1}) i, params, LATERAL (SELECT {_at('i', tp)} AS at) e""")
    conn.execute(f"""
      INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, account_key, source, ingested_at)
      SELECT '{name}', ({base + 300_000_000} + i)::text, f.at, 'follow', 'acct' || floor({accounts} * random())::int,
             'stream', f.at + interval '2 seconds'
        FROM generate_series(0, {n_follows - 1}) i, params,
             LATERAL (SELECT t0 + floor(random() * {DAYS * 86400 - 600}) * interval '1 second'
                             + (i % 1000000) * interval '1 microsecond' AS at) f""")
    # REST snapshots: 4 days after the post (newer than every like: the snapshot counts, net of a few
    # un-favourites), or for every fifth post after 2 days (older than its newest like: events count)
    conn.execute(f"""
      INSERT INTO pulse.post_snapshots (channel, post_id, observed_at, replies, favourites, reblogs, quotes)
      SELECT p.channel, p.status_id, p.created_at + CASE WHEN n % 5 = 0 THEN interval '2 days' ELSE interval '4 days' END,
             0, greatest(coalesce(c.favs, 0) - n % 7, 0), greatest(coalesce(c.boosts, 0) - n % 3, 0), n % 2
        FROM pulse.statuses p
        CROSS JOIN LATERAL (SELECT p.status_id::bigint - {base} AS n) k
        LEFT JOIN (SELECT status_id, count(*) FILTER (WHERE kind = 'favourite') AS favs,
                          count(*) FILTER (WHERE kind = 'reblog') AS boosts
                     FROM pulse.interactions WHERE channel = '{name}' GROUP BY status_id) c
               ON c.status_id = p.status_id
       WHERE p.channel = '{name}' AND p.relation = 'own_post' AND p.in_reply_to_id IS NULL
         AND p.created_at < now() - interval '4 days'""")


def _operations(conn: psycopg.Connection, scale: float) -> None:
    """What the Ingester health board and the alert rules read: heartbeats, dead letters, origin."""
    every = max(5, round(5 / min(scale, 1.0)))  # seconds between heartbeats; 5 s as the service at scale 1
    for name, *_ in CHANNELS:
        conn.execute(f"""
          INSERT INTO pulse.heartbeats (channel, at, stream_connected, last_frame_at, last_event_at, lag_seconds,
                                        events_total, reconnects_total, catchup_runs_total, catchup_pages_total,
                                        dead_letters_total, spool_depth, ratelimit_remaining)
          SELECT '{name}', h.at, NOT (extract(hour FROM h.at) = 4 AND extract(minute FROM h.at) < 3),
                 h.at, h.at - (k % 7) * interval '1 second', 0.2 + (k % 13) / 10.0,
                 (k % 120960) * 3, (k % 120960) / 17280, (k % 120960) / 720, (k % 120960) / 240,
                 (k % 120960) / 8640, (k % 11), 300 - (k % 300)
            FROM generate_series(0, 30 * 86400 / {every}) k,
                 LATERAL (SELECT now() - k * interval '{every} seconds' AS at) h""")
        conn.execute(f"""
          INSERT INTO pulse.dead_letters (channel, received_at, source, reason, payload)
          SELECT '{name}', now() - (k * 431) % (30 * 86400) * interval '1 second', 'stream',
                 'unknown notification type', '{{}}'
            FROM generate_series(1, 1500) k""")
    conn.execute("INSERT INTO pulse.data_origin (origin, first_at, last_at) VALUES ('real', now() - interval '90 days', now())")


def _entry(conn: psycopg.Connection) -> None:
    """The entry route per local day and source (counts only) over the 90 days."""
    conn.execute(f"""
      INSERT INTO pulse.entry_counts (day, source, kind, count)
      SELECT d::date, s.source, s.kind, 1 + (extract(doy FROM d)::int * s.w) % 40
        FROM generate_series(current_date - {DAYS}, current_date, interval '1 day') d,
             (VALUES ('direct', 'page_view', 3), ('direct', 'signup_click', 5), ('direct', 'reply_click', 7),
                     ('poster-centrum', 'page_view', 11), ('poster-centrum', 'signup_click', 13),
                     ('poster-noord', 'page_view', 17), ('poster-noord', 'reply_click', 19),
                     ('onbekend', 'page_view', 23), ('sms', 'keyword_sms', 29),
                     ('whatsapp', 'keyword_whatsapp', 31)) s(source, kind, w)""")


def generate(conn: psycopg.Connection, scale: float) -> dict[str, int]:
    """Fill an empty, migrated database (autocommit connection). Returns the sizes printed.

    The events go in with triggers off (a million-row INSERT would hand the rollup triggers a
    million-row transition table) and the derived tables are then built from them as an upgrade
    does: pulse.first_seen_rebuild(), pulse.rollup_rebuild(), pulse.responses_rebuild(),
    pulse.account_sets_rebuild(), pulse.thread_rebuild() and the live boards' rollups, whose time is
    printed."""
    conn.execute("CREATE TEMP TABLE params AS SELECT date_trunc('hour', now()) - interval '90 days' AS t0")
    conn.execute("SET session_replication_role = replica")  # no triggers (needs a superuser)
    for name, share, posts, base in CHANNELS:
        _channel(conn, name, share, posts, base, scale)
    conn.execute(f"""
      INSERT INTO pulse.accounts (account_key, acct, url)
      SELECT 'acct' || n, 'resident' || n || '@example.social', 'https://example.social/@resident' || n
        FROM generate_series(0, {accounts_pool(scale) - 1}) n""")
    _operations(conn, scale)
    _entry(conn)
    conn.execute("SET session_replication_role = origin")
    conn.execute("DROP TABLE params")
    # A live channel's events arrive, and are stored, in time order; generated post by post they are
    # not, and a query over one hour would read a page per event. (On TimescaleDB the time index of
    # a hypertable is its own; CLUSTER orders each chunk.)
    for table, column in (("statuses", "created_at"), ("interactions", "occurred_at")):
        index = conn.execute(
            """SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
               WHERE x.indrelid = %s::regclass AND a.attname = %s AND x.indnatts = 1 AND x.indpred IS NULL
               ORDER BY i.relname LIMIT 1""", (f"pulse.{table}", column)).fetchone()
        if index:
            conn.execute(f'CLUSTER pulse.{table} USING "{index[0]}"')
    started = time.perf_counter()
    conn.execute("SELECT pulse.first_seen_rebuild()")
    conn.execute("SELECT pulse.rollup_rebuild()")
    conn.execute("SELECT pulse.responses_rebuild()")
    conn.execute("SELECT pulse.account_sets_rebuild()")
    conn.execute("SELECT pulse.thread_rebuild()")
    conn.execute("SELECT pulse.live_rollups_rebuild()")  # the live boards' (schema/views/28_live_rollups.sql)
    print(f"rollups built from the stored events in {time.perf_counter() - started:.0f} s", flush=True)
    for table in ("statuses", "interactions", "post_snapshots", "heartbeats", "dead_letters", "accounts",
                  "account_first_seen", "entry_counts", "rollup_counts", "rollup_accounts", "rollup_post_format",
                  "account_numbers", "reply_responses", "city_answers", "rollup_responses",
                  "rollup_accounts_all", "rollup_seen", "thread_participants", "thread_stats",
                  "engagement_hours", "ingest_counts", "heartbeat_hours"):
        conn.execute(f"VACUUM (ANALYZE) pulse.{table}")  # what autovacuum would have done by now
    n = conn.execute("SELECT count(*) FROM kpi.engagements").fetchone()[0]  # type: ignore[index]
    posts = conn.execute("SELECT count(*) FROM kpi.posts WHERE in_reply_to_id IS NULL").fetchone()[0]  # type: ignore[index]
    return {"engagements": n, "posts": posts}
