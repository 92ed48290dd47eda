-- bench/raw_kpi.sql: the benchmark's raw-event baseline, schema kpi_raw. Frozen; not a migration.
--
-- What this is: the pre-rollup definitions of every kpi view and function the Grafana boards and
-- alert rules use, copied from schema/views/*.sql as they were at commit a6b5b85 (10_contract,
-- 21_formats, 22_threads, 30_activity_base (its plain-PostgreSQL branch), 31_post_stats, 32_activity,
-- 33_summary, 34_responses, 35_accounts_daily, 36_entry, 37_sessions, 39_data_origin), with the same
-- names, columns and meaning, schema-qualified into kpi_raw. Only their COMMENT ONs, grants and the
-- TimescaleDB branch were left out.
--
-- Why: bench/kpi.py times every board and alert query twice in one run, as written (reading kpi.*,
-- whatever the schema at hand makes of it: rollups, continuous aggregates) and with kpi. replaced by
-- kpi_raw. (this file: straight from the events), checks both give the same rows, and prints the
-- ratio. The kpi layer is being rewritten to read rollups; this file must NOT follow it. Edit it only
-- to fix a mistake in the copy, never to make the baseline faster or slower.
--
-- What it reads: only pulse.statuses, pulse.interactions, pulse.post_snapshots, pulse.accounts,
-- pulse.entry_counts, pulse.data_origin, and the settings pulse.formats / pulse.config. Never a
-- continuous aggregate or a rollup table, on any tier:
--   * kpi_raw.activity_statuses_1h/_1d and kpi_raw.activity_interactions_1h/_1d are the one-row-per-
--     event views that plain PostgreSQL used (on full TimescaleDB pulse.activity_* were continuous
--     aggregates), with the same expression indexes on the event tables, under kpi_raw_* names;
--   * kpi_raw.account_first_seen is a table built from the events when this file is loaded, exactly
--     as pulse.first_seen_rebuild() built pulse.account_first_seen (which triggers then kept exact;
--     the bench's data does not change while it is timed, so no triggers are needed here).
--
-- Loaded by bench/kpi.py (kpi_queries.load_raw) into a scratch database, after
--   DROP SCHEMA IF EXISTS kpi_raw CASCADE; CREATE SCHEMA kpi_raw;
-- Run as a superuser or the database owner; it creates four indexes on pulse.statuses/interactions.

-- ==== from schema/views/10_contract.sql ========================================
-- 10_contract: the public contract (schema kpi) that data staff, the KPI layer and Grafana build on.
-- Re-runnable. Pseudonymous: no handles, no text.

CREATE OR REPLACE VIEW kpi_raw.engagements AS
SELECT s.channel,
       s.created_at AS occurred_at,
       CASE WHEN s.thread_root_id IS NOT NULL OR s.relation = 'reply' THEN 'reply'
            WHEN s.relation = 'quote' THEN 'quote'
            ELSE 'mention' END                                    AS kind,
       CASE WHEN s.relation = 'reply' THEN s.in_reply_to_id
            WHEN s.thread_root_id IS NOT NULL THEN s.thread_root_id
            WHEN s.relation = 'quote' THEN s.quoted_id END         AS post_id,
       s.thread_root_id,
       s.account_key,
       s.status_id                                                 AS source_id
  FROM pulse.statuses s
 WHERE s.relation <> 'own_post'
   AND (s.thread_root_id IS NOT NULL OR s.relation IN ('reply', 'quote', 'mention'))
UNION ALL
SELECT i.channel,
       i.occurred_at,
       i.kind,
       i.status_id                                                 AS post_id,
       t.thread_root_id,
       i.account_key,
       i.notification_id                                           AS source_id
  FROM pulse.interactions i
  LEFT JOIN LATERAL (
        SELECT s.thread_root_id FROM pulse.statuses s
         WHERE s.channel = i.channel AND s.status_id = i.status_id
         LIMIT 1) t ON i.status_id IS NOT NULL;

CREATE OR REPLACE VIEW kpi_raw.posts AS
SELECT s.channel,
       s.status_id     AS post_id,
       s.created_at    AS posted_at,
       s.url,
       s.tags,
       s.in_reply_to_id
  FROM pulse.statuses s
 WHERE s.relation = 'own_post';

-- ==== from schema/views/21_formats.sql ========================================
-- 21_formats: a post's format from its hashtags, and the configured timezone. Re-runnable.

-- The format of a post: the format of its mapped tag with the lowest precedence (tags compared
-- case-insensitively), else 'other'. The map lives in pulse.formats (ingester/formats.py).
CREATE OR REPLACE FUNCTION kpi_raw.post_format(tags text[]) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
-- SECURITY DEFINER: kpi views call it for pulse_analyst, who may not read pulse.formats itself.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(
    (SELECT f.format
       FROM pulse.formats f
      WHERE f.tag IN (SELECT lower(ltrim(t, '#')) FROM unnest(tags) AS t)
      ORDER BY f.precedence
      LIMIT 1),
    'other')
$$;

-- The timezone of every local bucket (pulse.config, written by `ingester migrate`).
CREATE OR REPLACE FUNCTION kpi_raw.timezone() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce((SELECT value FROM pulse.config WHERE key = 'timezone'), 'Europe/Amsterdam')
$$;

-- ==== from schema/views/22_threads.sql ========================================
-- 22_threads: private building blocks of the kpi views (schema pulse: not for analysts). Re-runnable.
--
-- The sink sets statuses.thread_root_id on every status inside one of the channel's threads (the
-- channel's top-level post it hangs under), also for deep replies that never mention the channel and
-- for the channel's own answers. Everything below starts from that.

-- The format of each top-level post of a channel, from its tags and pulse.formats (same rule as
-- pulse.post_format, written as a join so that views pay for it once per post, not once per row).
CREATE OR REPLACE VIEW kpi_raw.post_formats AS
SELECT p.channel, p.status_id, coalesce(fm.format, 'other') AS format
  FROM pulse.statuses p
  LEFT JOIN LATERAL (
        SELECT f.format
          FROM unnest(p.tags) AS t(tag)
          JOIN pulse.formats f ON f.tag = lower(ltrim(t.tag, '#'))
         ORDER BY f.precedence
         LIMIT 1) fm ON true
 WHERE p.relation = 'own_post' AND p.in_reply_to_id IS NULL;

-- The channel's own statuses with the thread root they belong to and the format of that root: a
-- reply inherits the format of its thread's root post (NULL when the root is unknown, e.g. an answer
-- to a mention outside any thread).
CREATE OR REPLACE VIEW kpi_raw.own_statuses AS
SELECT s.channel,
       s.status_id,
       s.created_at,
       s.in_reply_to_id,
       coalesce(s.thread_root_id, s.status_id)                       AS root_id,
       s.in_reply_to_id IS NULL                                      AS top_level,
       -- an answer replies to someone else's status (not a self-thread continuation)
       (s.in_reply_to_id IS NOT NULL AND par.status_id IS NULL)      AS answer,
       pf.format
  FROM pulse.statuses s
  LEFT JOIN pulse.statuses par
         ON par.channel = s.channel AND par.status_id = s.in_reply_to_id AND par.relation = 'own_post'
  LEFT JOIN kpi_raw.post_formats pf
         ON pf.channel = s.channel AND pf.status_id = coalesce(s.thread_root_id, s.status_id)
 WHERE s.relation = 'own_post';

-- One row per engagement by another account, with the channel status it is about (post_ref: the
-- thread root for replies inside a thread). Same classification as the contract view
-- kpi_raw.engagements; post_ref maps to a format through kpi_raw.own_statuses.
CREATE OR REPLACE VIEW kpi_raw.engagement_rows AS
SELECT s.channel,
       s.created_at                                                   AS occurred_at,
       CASE WHEN s.thread_root_id IS NOT NULL OR s.relation = 'reply' THEN 'reply'
            WHEN s.relation = 'quote' THEN 'quote'
            ELSE 'mention' END                                        AS kind,
       s.account_key,
       CASE WHEN s.thread_root_id IS NOT NULL THEN s.thread_root_id
            WHEN s.relation = 'reply' THEN s.in_reply_to_id
            WHEN s.relation = 'quote' THEN s.quoted_id END            AS post_ref
  FROM pulse.statuses s
 WHERE s.relation <> 'own_post'
   AND (s.thread_root_id IS NOT NULL OR s.relation IN ('reply', 'quote', 'mention'))
UNION ALL
SELECT i.channel, i.occurred_at, i.kind, i.account_key, i.status_id
  FROM pulse.interactions i;

-- Resident replies addressed to the city: a reply to one of the channel's statuses, or a reply
-- inside its thread that mentions it; answered_at is the first later status of the channel that
-- replies to it.
CREATE OR REPLACE VIEW kpi_raw.addressed_replies AS
SELECT r.channel,
       coalesce(r.thread_root_id, o.root_id)                          AS post_id,
       r.status_id                                                    AS reply_id,
       r.created_at                                                   AS replied_at,
       a.answered_at,
       r.account_key
  FROM pulse.statuses r
  LEFT JOIN kpi_raw.own_statuses o ON o.channel = r.channel AND o.status_id = r.in_reply_to_id
  LEFT JOIN LATERAL (
        SELECT min(x.created_at) AS answered_at
          FROM pulse.statuses x
         WHERE x.channel = r.channel AND x.in_reply_to_id = r.status_id
           AND x.relation = 'own_post' AND x.created_at > r.created_at) a ON true
 WHERE r.relation <> 'own_post'
   AND r.in_reply_to_id IS NOT NULL
   AND (r.relation = 'reply' OR o.status_id IS NOT NULL
        OR (r.thread_root_id IS NOT NULL AND r.mentions_channel));

-- ==== from schema/011_first_seen.sql (pulse.first_seen_rebuild) ========================================
-- When each account first engaged with each channel, from the events stored now (the rule of
-- 011_first_seen: the earliest row of kpi_raw.engagement_rows per channel and account).
CREATE TABLE kpi_raw.account_first_seen (
  channel        text        NOT NULL,
  account_key    text        NOT NULL,
  first_seen_at  timestamptz NOT NULL,
  PRIMARY KEY (channel, account_key)
);
INSERT INTO kpi_raw.account_first_seen (channel, account_key, first_seen_at)
SELECT channel, account_key, min(t)
  FROM (SELECT s.channel, s.account_key, min(s.created_at) AS t FROM pulse.statuses s
         WHERE s.relation <> 'own_post' AND (s.thread_root_id IS NOT NULL OR s.relation IN ('reply', 'quote', 'mention'))
         GROUP BY 1, 2
        UNION ALL
        SELECT i.channel, i.account_key, min(i.occurred_at) FROM pulse.interactions i
         GROUP BY 1, 2) x
 GROUP BY 1, 2;
ANALYZE kpi_raw.account_first_seen;

-- ==== from schema/views/30_activity_base.sql (the branch for every tier but full TimescaleDB) =========
-- kpi_raw.activity_statuses_1h / _1d      replies, mentions, quotes      (from pulse.statuses)
-- kpi_raw.activity_interactions_1h / _1d  favourites, reblogs, follows   (from pulse.interactions)
-- Ordinary views with one row per event; buckets are immutable expressions (AT TIME ZONE with the
-- timezone written in as a literal) with a matching expression index each, so a filter on
-- kpi_raw.activity_*.bucket reaches the events through an index. _1h = UTC clock hours, _1d = local
-- calendar days in pulse.config 'timezone'. The indexes carry the timezone in their comment and are
-- rebuilt when it differs.
DO $do$
DECLARE
  tz          text := kpi_raw.timezone();
  is_reply    text := $$(thread_root_id IS NOT NULL OR relation = 'reply')$$;
  post_ref    text := $$CASE WHEN thread_root_id IS NOT NULL THEN thread_root_id
                            WHEN relation = 'reply' THEN in_reply_to_id
                            WHEN relation = 'quote' THEN quoted_id END$$;
  where_st    text := $$relation <> 'own_post'
                        AND (thread_root_id IS NOT NULL OR relation IN ('reply', 'quote', 'mention'))$$;
  st_bucket   text;
  ia_bucket   text;
  grain       text;
  idx_tz      text;
BEGIN
  FOREACH grain IN ARRAY ARRAY['1h', '1d'] LOOP
    IF grain = '1h' THEN
      st_bucket := $$(date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')$$;
      ia_bucket := $$(date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')$$;
    ELSE
      st_bucket := format($$(date_trunc('day', created_at AT TIME ZONE %1$L) AT TIME ZONE %1$L)$$, tz);
      ia_bucket := format($$(date_trunc('day', occurred_at AT TIME ZONE %1$L) AT TIME ZONE %1$L)$$, tz);
    END IF;
    idx_tz := CASE grain WHEN '1h' THEN 'UTC' ELSE tz END;
    IF obj_description(to_regclass(format('pulse.kpi_raw_statuses_bucket_%s_idx', grain)), 'pg_class')
       IS DISTINCT FROM idx_tz THEN
      EXECUTE format('DROP INDEX IF EXISTS pulse.kpi_raw_statuses_bucket_%s_idx', grain);
      EXECUTE format('CREATE INDEX kpi_raw_statuses_bucket_%s_idx ON pulse.statuses (%s) WHERE %s',
                     grain, st_bucket, where_st);
      EXECUTE format('COMMENT ON INDEX pulse.kpi_raw_statuses_bucket_%s_idx IS %L', grain, idx_tz);
    END IF;
    IF obj_description(to_regclass(format('pulse.kpi_raw_interactions_bucket_%s_idx', grain)), 'pg_class')
       IS DISTINCT FROM idx_tz THEN
      EXECUTE format('DROP INDEX IF EXISTS pulse.kpi_raw_interactions_bucket_%s_idx', grain);
      EXECUTE format('CREATE INDEX kpi_raw_interactions_bucket_%s_idx ON pulse.interactions (%s)',
                     grain, ia_bucket);
      EXECUTE format('COMMENT ON INDEX pulse.kpi_raw_interactions_bucket_%s_idx IS %L', grain, idx_tz);
    END IF;
    EXECUTE format($v$
      CREATE OR REPLACE VIEW kpi_raw.activity_statuses_%s AS
      SELECT channel, %s AS bucket, account_key, %s AS post_ref,
             (CASE WHEN %s THEN 1 ELSE 0 END)::bigint AS replies,
             (CASE WHEN NOT %s AND relation = 'mention' THEN 1 ELSE 0 END)::bigint AS mentions,
             (CASE WHEN NOT %s AND relation = 'quote' THEN 1 ELSE 0 END)::bigint AS quotes
        FROM pulse.statuses
       WHERE %s$v$, grain, st_bucket, post_ref, is_reply, is_reply, is_reply, where_st);
    EXECUTE format($v$
      CREATE OR REPLACE VIEW kpi_raw.activity_interactions_%s AS
      SELECT channel, %s AS bucket, account_key, status_id AS post_ref,
             (CASE WHEN kind = 'favourite' THEN 1 ELSE 0 END)::bigint AS favourites,
             (CASE WHEN kind = 'reblog' THEN 1 ELSE 0 END)::bigint AS reblogs,
             (CASE WHEN kind = 'follow' THEN 1 ELSE 0 END)::bigint AS follows
        FROM pulse.interactions$v$, grain, ia_bucket);
  END LOOP;
END $do$;
ANALYZE pulse.statuses;
ANALYZE pulse.interactions;

-- ==== from schema/views/31_post_stats.sql ========================================
-- 31_post_stats: kpi_raw.post_stats, one row per top-level post of a channel. Re-runnable.
--
-- Counts of favourites, reblogs and quotes follow one rule (per post, per kind): the latest REST
-- snapshot (pulse.post_snapshots) when it is newer than the newest such event we stored for the
-- post, because only a snapshot reflects un-favourites and un-boosts; otherwise the count of the
-- stored events (a snapshot older than the newest event would miss that event).
CREATE OR REPLACE VIEW kpi_raw.post_stats AS
SELECT p.channel,
       p.status_id                                                    AS post_id,
       p.created_at                                                   AS posted_at,
       p.url,
       kpi_raw.post_format(p.tags)                                      AS format,
       p.tags,
       coalesce(th.replies, 0)                                        AS replies,
       coalesce(th.repliers, 0)                                       AS repliers,
       fv.favourites,
       rb.reblogs,
       qt.quotes,
       coalesce(th.replies, 0)::numeric / nullif(fv.favourites, 0)    AS reply_like_ratio,
       th.first_reply_at,
       coalesce(ca.city_replies, 0)                                   AS city_replies,
       ans.in_time::numeric / nullif(ans.due, 0)                      AS answered_share
  FROM pulse.statuses p
  -- replies: statuses by other accounts anywhere inside the thread
  LEFT JOIN LATERAL (
        SELECT count(*) AS replies, count(DISTINCT r.account_key) AS repliers,
               min(r.created_at) AS first_reply_at
          FROM pulse.statuses r
         WHERE r.channel = p.channel AND r.thread_root_id = p.status_id
           AND r.relation <> 'own_post') th ON true
  -- the channel's answers inside its thread
  LEFT JOIN LATERAL (
        SELECT count(*) AS city_replies
          FROM pulse.statuses a
         WHERE a.channel = p.channel AND a.thread_root_id = p.status_id
           AND a.relation = 'own_post' AND a.in_reply_to_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM pulse.statuses q
                            WHERE q.channel = a.channel AND q.status_id = a.in_reply_to_id
                              AND q.relation = 'own_post')) ca ON true
  -- answered within 72 h / resident replies addressed to the city that are older than 72 h
  LEFT JOIN LATERAL (
        -- same rule as kpi_raw.addressed_replies, written against the thread index
        SELECT count(*) AS due,
               count(*) FILTER (WHERE ansd.answered_at <= r.created_at + interval '72 hours') AS in_time
          FROM pulse.statuses r
          LEFT JOIN LATERAL (
                SELECT min(x.created_at) AS answered_at
                  FROM pulse.statuses x
                 WHERE x.channel = r.channel AND x.in_reply_to_id = r.status_id
                   AND x.relation = 'own_post' AND x.created_at > r.created_at) ansd ON true
         WHERE r.channel = p.channel AND r.thread_root_id = p.status_id
           AND r.relation <> 'own_post' AND r.in_reply_to_id IS NOT NULL
           AND r.created_at < now() - interval '72 hours'
           AND (r.relation = 'reply' OR r.mentions_channel
                OR EXISTS (SELECT 1 FROM pulse.statuses q
                            WHERE q.channel = r.channel AND q.status_id = r.in_reply_to_id
                              AND q.relation = 'own_post'))) ans ON true
  LEFT JOIN LATERAL (
        SELECT s.observed_at, s.favourites, s.reblogs, s.quotes
          FROM pulse.post_snapshots s
         WHERE s.channel = p.channel AND s.post_id = p.status_id
         ORDER BY s.observed_at DESC
         LIMIT 1) snap ON true
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE i.kind = 'favourite')            AS favourites,
               max(i.occurred_at) FILTER (WHERE i.kind = 'favourite')  AS last_favourite,
               count(*) FILTER (WHERE i.kind = 'reblog')               AS reblogs,
               max(i.occurred_at) FILTER (WHERE i.kind = 'reblog')     AS last_reblog
          FROM pulse.interactions i
         WHERE i.channel = p.channel AND i.status_id = p.status_id) ev ON true
  LEFT JOIN LATERAL (
        SELECT count(*) AS quotes, max(q.created_at) AS last_quote
          FROM pulse.statuses q
         WHERE q.channel = p.channel AND q.quoted_id = p.status_id
           AND q.relation <> 'own_post') qe ON true
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(ev.last_favourite, '-infinity')
                    THEN snap.favourites::bigint ELSE ev.favourites END AS favourites) fv
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(ev.last_reblog, '-infinity')
                    THEN snap.reblogs::bigint ELSE ev.reblogs END AS reblogs) rb
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(qe.last_quote, '-infinity')
                    THEN snap.quotes::bigint ELSE qe.quotes END AS quotes) qt
 WHERE p.relation = 'own_post' AND p.in_reply_to_id IS NULL;

-- ==== from schema/views/32_activity.sql ========================================
-- 32_activity: kpi_raw.activity_hourly, kpi_raw.activity_daily, kpi_raw.account_daily, kpi_raw.activity(). Re-runnable.
--
-- The views read kpi_raw.activity_* (one row per event, every tier: the activity base section
-- above) and attach each engagement's format through the channel status
-- it is about, at query time. Favourites etc. are counted as they happened (an un-favourite later
-- does not remove the event from its bucket; kpi_raw.post_stats has the net counts).

CREATE OR REPLACE VIEW kpi_raw.activity_hourly AS
SELECT a.channel, a.bucket, o.format,
       sum(a.replies)::bigint     AS replies,
       sum(a.mentions)::bigint    AS mentions,
       sum(a.favourites)::bigint  AS favourites,
       sum(a.reblogs)::bigint     AS reblogs,
       sum(a.quotes)::bigint      AS quotes,
       sum(a.follows)::bigint     AS follows,
       count(DISTINCT a.account_key) AS active_accounts
  FROM (SELECT channel, bucket, account_key, post_ref, replies, mentions, quotes,
               0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
          FROM kpi_raw.activity_statuses_1h
        UNION ALL
        SELECT channel, bucket, account_key, post_ref, 0, 0, 0, favourites, reblogs, follows
          FROM kpi_raw.activity_interactions_1h) a
  LEFT JOIN kpi_raw.own_statuses o ON o.channel = a.channel AND o.status_id = a.post_ref
 GROUP BY a.channel, a.bucket, o.format;

CREATE OR REPLACE VIEW kpi_raw.activity_daily AS
SELECT a.channel, a.bucket, o.format,
       sum(a.replies)::bigint     AS replies,
       sum(a.mentions)::bigint    AS mentions,
       sum(a.favourites)::bigint  AS favourites,
       sum(a.reblogs)::bigint     AS reblogs,
       sum(a.quotes)::bigint      AS quotes,
       sum(a.follows)::bigint     AS follows,
       count(DISTINCT a.account_key) AS active_accounts
  FROM (SELECT channel, bucket, account_key, post_ref, replies, mentions, quotes,
               0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
          FROM kpi_raw.activity_statuses_1d
        UNION ALL
        SELECT channel, bucket, account_key, post_ref, 0, 0, 0, favourites, reblogs, follows
          FROM kpi_raw.activity_interactions_1d) a
  LEFT JOIN kpi_raw.own_statuses o ON o.channel = a.channel AND o.status_id = a.post_ref
 GROUP BY a.channel, a.bucket, o.format;

CREATE OR REPLACE VIEW kpi_raw.account_daily AS
SELECT a.channel, a.bucket AS day, a.account_key,
       sum(a.replies)::bigint     AS replies,
       sum(a.mentions)::bigint    AS mentions,
       sum(a.favourites)::bigint  AS favourites,
       sum(a.reblogs)::bigint     AS reblogs,
       sum(a.quotes)::bigint      AS quotes,
       sum(a.follows)::bigint     AS follows
  FROM (SELECT channel, bucket, account_key, replies, mentions, quotes,
               0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
          FROM kpi_raw.activity_statuses_1d
        UNION ALL
        SELECT channel, bucket, account_key, 0, 0, 0, favourites, reblogs, follows
          FROM kpi_raw.activity_interactions_1d) a
 GROUP BY a.channel, a.bucket, a.account_key;

-- Any period, any range, straight from the events (exact at the range edges; used by the export).
-- For period hour/day and whole buckets it equals kpi_raw.activity_hourly / kpi_raw.activity_daily.
CREATE OR REPLACE FUNCTION kpi_raw.activity(p_from timestamptz, p_to timestamptz,
                                        p_period text DEFAULT 'day', p_channel text DEFAULT NULL)
RETURNS TABLE (channel text, bucket timestamptz, format text, replies bigint, mentions bigint,
               favourites bigint, reblogs bigint, quotes bigint, follows bigint,
               active_accounts bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- JIT: the lateral per-post parts are costed high, and ~1 s of compilation dwarfs the query itself
SET jit = off AS $$
DECLARE
  tz text := kpi_raw.timezone();
BEGIN
  IF p_period IS NULL OR p_period NOT IN ('hour', 'day', 'week') THEN
    RAISE EXCEPTION 'kpi_raw.activity: period must be hour, day or week, not %', coalesce(p_period, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- EXECUTE: planned for the actual range every call (dashboards ask for very different ranges)
  RETURN QUERY EXECUTE $q$
    SELECT e.channel,
           CASE $3 WHEN 'hour' THEN date_trunc('hour', e.occurred_at, 'UTC')
                   ELSE date_trunc($3, e.occurred_at, $5) END AS bucket,
           o.format,
           count(*) FILTER (WHERE e.kind = 'reply'),
           count(*) FILTER (WHERE e.kind = 'mention'),
           count(*) FILTER (WHERE e.kind = 'favourite'),
           count(*) FILTER (WHERE e.kind = 'reblog'),
           count(*) FILTER (WHERE e.kind = 'quote'),
           count(*) FILTER (WHERE e.kind = 'follow'),
           count(DISTINCT e.account_key)
      FROM kpi_raw.engagement_rows e
      LEFT JOIN kpi_raw.own_statuses o ON o.channel = e.channel AND o.status_id = e.post_ref
     WHERE e.occurred_at >= $1 AND e.occurred_at < $2
       AND ($4::text IS NULL OR e.channel = $4)
     GROUP BY 1, 2, 3
     ORDER BY 2, 1, 3 NULLS FIRST$q$
  USING p_from, p_to, p_period, p_channel, tz;
END $$;

-- ==== from schema/views/33_summary.sql ========================================
-- 33_summary: kpi_raw.summary(from, to, channel, format). Re-runnable.
--
-- Exact for any range: distinct counts come from the events themselves, never from adding up buckets.
-- Two families of columns (documented in docs/sql.md):
--   the posts published in [from, to)  -> posts, replies, favourites, reblogs, replies_per_post,
--                                          reply_like_ratio (their counts so far, as kpi_raw.post_stats)
--   what happened in [from, to)        -> distinct/new/returning accounts, city_replies,
--                                          answered_share, median_response_seconds
-- channel and format narrow both families; with a format, engagements count when they are about a
-- post of that format (follows and mentions outside threads then drop out), and "returning" means
-- seen before in the same channel/format scope.
--
-- How it stays fast (plain PostgreSQL has no aggregates to lean on):
--   * returning accounts: kpi_raw.account_first_seen (011_first_seen.sql, kept exact by triggers) says
--     when each account first engaged with each channel; one hashed set instead of one probe into
--     the events per active account. With a format the events are still asked, but only for the
--     accounts first seen before `from` (the others cannot have been seen on such posts either).
--   * answered within 72 h: the channel's answers written from `from` on are few; they are joined
--     to the range's replies in one hash join instead of one lookup per reply.
CREATE OR REPLACE FUNCTION kpi_raw.summary(p_from timestamptz, p_to timestamptz,
                            p_channel text DEFAULT NULL, p_format text DEFAULT NULL)
RETURNS TABLE (posts bigint, replies bigint, favourites bigint, reblogs bigint,
               replies_per_post numeric, reply_like_ratio numeric,
               distinct_accounts bigint, new_accounts bigint, returning_accounts bigint,
               city_replies bigint, answered_share numeric, median_response_seconds double precision)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- JIT: the lateral per-post parts are costed high, and ~1 s of compilation dwarfs the query itself.
-- work_mem: room for the hashed set of accounts seen before (and the distinct active accounts)
-- in memory; at the default 4 MB a busy month spills to disk or loses the hashed subplan. No
-- parallel workers: the distinct-account step then gathers and re-sorts every partial result.
SET jit = off SET work_mem = '64MB' SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
  -- engagements in scope: the format join only when a format is asked for (it is costly per probe)
  eng text := CASE WHEN p_format IS NULL THEN
                'kpi_raw.engagement_rows e WHERE ($3::text IS NULL OR e.channel = $3)'
              ELSE
                'kpi_raw.engagement_rows e JOIN kpi_raw.own_statuses o
                   ON o.channel = e.channel AND o.status_id = e.post_ref AND o.format = $4
                 WHERE ($3::text IS NULL OR e.channel = $3)'
              END;
  -- accounts seen before `from` in scope (any channel when none is given)
  seen text := CASE WHEN p_channel IS NULL THEN
                 'kpi_raw.account_first_seen f WHERE f.first_seen_at < $1'
               ELSE
                 'kpi_raw.account_first_seen f WHERE f.channel = $3 AND f.first_seen_at < $1'
               END;
  -- returning: seen before `from`; with a format, also seen before on a post of that format
  is_returning text := CASE WHEN p_format IS NULL THEN
                      format('a.account_key IN (SELECT f.account_key FROM %s)', seen)
                    ELSE
                      format('a.account_key IN (SELECT f.account_key FROM %s) AND EXISTS (
                                SELECT 1 FROM %s AND e.account_key = a.account_key AND e.occurred_at < $1)',
                             seen, eng)
                    END;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RAISE EXCEPTION 'kpi_raw.summary: need from < to (got % .. %)', p_from, p_to
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- EXECUTE: planned with the actual values every call, so the optional filters fold away
  RETURN QUERY EXECUTE format($q$
    WITH cohort AS (
      SELECT count(*) AS posts,
             coalesce(sum(ps.replies), 0)::bigint    AS replies,
             coalesce(sum(ps.favourites), 0)::bigint AS favourites,
             coalesce(sum(ps.reblogs), 0)::bigint    AS reblogs
        FROM kpi_raw.post_stats ps
       WHERE ps.posted_at >= $1 AND ps.posted_at < $2
         AND ($3::text IS NULL OR ps.channel = $3)
         AND ($4::text IS NULL OR ps.format = $4)
    ), active AS (
      SELECT DISTINCT e.account_key FROM %1$s AND e.occurred_at >= $1 AND e.occurred_at < $2
    ), accounts AS (
      SELECT count(*) AS distinct_accounts,
             -- IN (...) in a FILTER: a hashed subplan, built once, one hash probe per account
             count(*) FILTER (WHERE %2$s) AS returning_accounts
        FROM active a
    ), answers AS (
      SELECT count(*) AS city_replies
        FROM kpi_raw.own_statuses o
       WHERE o.answer AND o.created_at >= $1 AND o.created_at < $2
         AND ($3::text IS NULL OR o.channel = $3)
         AND ($4::text IS NULL OR o.format = $4)
    ), addressed AS (
      -- kpi_raw.addressed_replies for replies written in the range, answered_at by a join
      SELECT r.channel, r.status_id, r.created_at AS replied_at,
             coalesce(r.thread_root_id, o.root_id) AS post_id
        FROM pulse.statuses r
        LEFT JOIN kpi_raw.own_statuses o ON o.channel = r.channel AND o.status_id = r.in_reply_to_id
       WHERE r.relation <> 'own_post'
         AND r.in_reply_to_id IS NOT NULL
         AND (r.relation = 'reply' OR o.status_id IS NOT NULL
              OR (r.thread_root_id IS NOT NULL AND r.mentions_channel))
         AND r.created_at >= $1 AND r.created_at < $2
         AND ($3::text IS NULL OR r.channel = $3)
    ), answered AS (
      -- answers come after the reply, so after `from`: only the channel's answers since then
      SELECT ad.channel, ad.status_id, ad.replied_at, ad.post_id, min(x.created_at) AS answered_at
        FROM addressed ad
        LEFT JOIN pulse.statuses x
               ON x.channel = ad.channel AND x.in_reply_to_id = ad.status_id
              AND x.relation = 'own_post' AND x.in_reply_to_id IS NOT NULL
              AND x.created_at > ad.replied_at AND x.created_at > $1
       GROUP BY ad.channel, ad.status_id, ad.replied_at, ad.post_id
    ), responses AS (
      SELECT count(*) FILTER (WHERE ar.replied_at < now() - interval '72 hours') AS due,
             count(*) FILTER (WHERE ar.replied_at < now() - interval '72 hours'
                                AND ar.answered_at <= ar.replied_at + interval '72 hours') AS in_time,
             percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM ar.answered_at - ar.replied_at)::double precision)
               FILTER (WHERE ar.answered_at IS NOT NULL) AS median_seconds
        FROM answered ar
        LEFT JOIN kpi_raw.own_statuses o ON o.channel = ar.channel AND o.status_id = ar.post_id
       WHERE ($4::text IS NULL OR o.format = $4)
    )
    SELECT c.posts, c.replies, c.favourites, c.reblogs,
           c.replies::numeric / nullif(c.posts, 0),
           c.replies::numeric / nullif(c.favourites, 0),
           a.distinct_accounts,
           a.distinct_accounts - a.returning_accounts,
           a.returning_accounts,
           w.city_replies,
           r.in_time::numeric / nullif(r.due, 0),
           r.median_seconds
      FROM cohort c, accounts a, answers w, responses r$q$, eng, is_returning)
  USING p_from, p_to, p_channel, p_format;
END $$;

-- ==== from schema/views/34_responses.sql ========================================
-- 34_responses: kpi_raw.response_times (pseudonymous), kpi_raw.unanswered and kpi_raw.replies_live (with handles
-- and text: pulse_reader only, see 40_grants.sql). Re-runnable.

CREATE OR REPLACE VIEW kpi_raw.response_times AS
SELECT ar.channel, ar.post_id, ar.reply_id, ar.replied_at, ar.answered_at,
       extract(epoch FROM ar.answered_at - ar.replied_at)::double precision AS response_seconds
  FROM kpi_raw.addressed_replies ar;

CREATE OR REPLACE VIEW kpi_raw.unanswered AS
SELECT ar.channel, ar.post_id, ar.reply_id, ar.replied_at,
       extract(epoch FROM now() - ar.replied_at)::double precision AS waiting_seconds,
       acc.acct                                                    AS account,
       s.content,
       s.url
  FROM kpi_raw.addressed_replies ar
  JOIN pulse.statuses s ON s.channel = ar.channel AND s.status_id = ar.reply_id
                       AND s.created_at = ar.replied_at
  LEFT JOIN pulse.accounts acc ON acc.account_key = ar.account_key
 WHERE ar.answered_at IS NULL
 ORDER BY ar.replied_at, ar.reply_id;

CREATE OR REPLACE VIEW kpi_raw.replies_live AS
SELECT s.channel,
       coalesce(s.thread_root_id, o.root_id)                         AS post_id,
       s.status_id                                                   AS reply_id,
       s.created_at                                                  AS replied_at,
       acc.acct                                                      AS account,
       s.content,
       s.url,
       ar.reply_id IS NOT NULL                                       AS addressed,
       ar.answered_at
  FROM pulse.statuses s
  LEFT JOIN kpi_raw.own_statuses o ON o.channel = s.channel AND o.status_id = s.in_reply_to_id
  LEFT JOIN pulse.accounts acc ON acc.account_key = s.account_key
  LEFT JOIN kpi_raw.addressed_replies ar ON ar.channel = s.channel AND ar.reply_id = s.status_id
 WHERE s.relation <> 'own_post'
   AND (s.thread_root_id IS NOT NULL OR s.relation = 'reply')
 ORDER BY s.created_at DESC, s.status_id DESC;

-- ==== from schema/views/35_accounts_daily.sql ========================================
-- 35_accounts_daily: kpi_raw.accounts_daily(from, to, channel, format). Re-runnable.
--
-- Distinct, new and returning accounts per local calendar day (kpi_raw.timezone(); 23 or 25 hours on
-- DST days), for every day that overlaps [from, to). Each row is exactly what
-- kpi_raw.summary(day_start, day_end, channel, format) gives for that whole day; the Channel overview's
-- per-day panel used to call kpi_raw.summary once per day (7-31 calls, each a scan of its own).
--
-- One pass instead: the distinct (day, account) pairs of the whole span of days come from one scan
-- of the engagements; each active account's first engagement in scope comes from
-- kpi_raw.account_first_seen (011_first_seen.sql) with one hash join. Then an account is returning on
-- a day when it was first seen before that day started -- the same rule kpi_raw.summary applies per call.
-- With a format, kpi_raw.summary also asks for an engagement on a post of that format before the day.
-- Here that splits in two: an earlier active day inside the span (known from the pairs already),
-- or one before the span (one EXISTS probe per account, not per account and day, and only for the
-- accounts first seen before the span: the others cannot have been seen on such posts either).
-- Measured (bench/kpi_raw.py --scale 0.05, 250k engagements, plain PostgreSQL 15, channel ams): the
-- 31-day panel went from 1.3 s (2.0 s with a format) to 0.24 s (0.31 s).
CREATE OR REPLACE FUNCTION kpi_raw.accounts_daily(p_from timestamptz, p_to timestamptz,
                            p_channel text DEFAULT NULL, p_format text DEFAULT NULL)
RETURNS TABLE (day date, bucket timestamptz, distinct_accounts bigint, new_accounts bigint,
               returning_accounts bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- As kpi_raw.summary: no JIT (compilation dwarfs the query), room to hash the active accounts, and no
-- parallel workers (the distinct step would gather and re-sort every partial result).
SET jit = off SET work_mem = '64MB' SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
  tz text := kpi_raw.timezone();
  first_day date;
  last_day date;
  -- engagements in scope, exactly as kpi_raw.summary builds them (the format join only when asked for)
  eng text := CASE WHEN p_format IS NULL THEN
                'kpi_raw.engagement_rows e WHERE ($3::text IS NULL OR e.channel = $3)'
              ELSE
                'kpi_raw.engagement_rows e JOIN kpi_raw.own_statuses o
                   ON o.channel = e.channel AND o.status_id = e.post_ref AND o.format = $4
                 WHERE ($3::text IS NULL OR e.channel = $3)'
              END;
  -- when each account was first seen in scope: one row per account of the channel, or the
  -- earliest over all channels when none is given
  seen text := CASE WHEN p_channel IS NULL THEN
                 '(SELECT f.account_key, min(f.first_seen_at) AS first_seen_at
                     FROM kpi_raw.account_first_seen f GROUP BY f.account_key)'
               ELSE
                 '(SELECT f.account_key, f.first_seen_at FROM kpi_raw.account_first_seen f WHERE f.channel = $3)'
               END;
  -- returning on an account's first active day of the span: without a format, first_seen_at alone
  -- decides; with one, it needs an engagement on such a post before the span ($8)
  before_span text := CASE WHEN p_format IS NULL THEN
                        'true'
                      ELSE
                        format('p.first_seen_at < $8 AND EXISTS (
                                  SELECT 1 FROM %s AND e.account_key = p.account_key AND e.occurred_at < $8)',
                               eng)
                      END;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RAISE EXCEPTION 'kpi_raw.accounts_daily: need from < to (got % .. %)', p_from, p_to
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  first_day := (p_from AT TIME ZONE tz)::date;
  -- the local day of the last instant inside the range (timestamptz counts microseconds)
  last_day := ((p_to - interval '1 microsecond') AT TIME ZONE tz)::date;
  -- EXECUTE: planned with the actual values every call, so the optional filters fold away.
  -- The planner cannot estimate the format join (it guesses a handful of rows for thousands), so
  -- the query joins nothing to its own intermediate results: one hash join of the active pairs to
  -- first-seen, window functions per account, and the days joined only to per-day counts.
  RETURN QUERY EXECUTE format($q$
    WITH pairs AS (
      SELECT a.day, a.account_key, f.first_seen_at,
             min(a.day) OVER (PARTITION BY a.account_key) AS first_active_day
        FROM (SELECT DISTINCT (e.occurred_at AT TIME ZONE $5)::date AS day, e.account_key
                FROM %1$s AND e.occurred_at >= $8 AND e.occurred_at < $9) a
        LEFT JOIN %2$s f ON f.account_key = a.account_key
    ), flagged AS (
      SELECT p.day,
             p.first_seen_at < (p.day::timestamp AT TIME ZONE $5)
             -- CASE: the before-span question is asked once per account, on its first active day
             AND CASE WHEN p.day > p.first_active_day THEN true ELSE (%3$s) END AS returning
        FROM pairs p
    ), counts AS (
      SELECT x.day, count(*) AS active, count(*) FILTER (WHERE x.returning) AS returning
        FROM flagged x
       GROUP BY x.day
    )
    SELECT d.day, d.day::timestamp AT TIME ZONE $5,
           coalesce(c.active, 0), coalesce(c.active - c.returning, 0), coalesce(c.returning, 0)
      FROM generate_series($6::date, $7::date, interval '1 day') g
     CROSS JOIN LATERAL (SELECT g::date AS day) d
      LEFT JOIN counts c ON c.day = d.day
     ORDER BY d.day$q$, eng, seen, before_span)
  USING p_from, p_to, p_channel, p_format, tz, first_day, last_day,
        first_day::timestamp AT TIME ZONE tz, (last_day + 1)::timestamp AT TIME ZONE tz;
END $$;

-- ==== from schema/views/36_entry.sql ========================================
-- 36_entry: kpi_raw.entry_daily, the entry-route funnel per local day and source. Re-runnable.
-- Grants: 40_grants.sql (pulse_reader and pulse_analyst: counts only, nothing about anyone).
CREATE OR REPLACE VIEW kpi_raw.entry_daily AS
SELECT c.day,
       c.source,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'page_view'), 0)::bigint        AS page_views,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'signup_click'), 0)::bigint     AS signup_clicks,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'reply_click'), 0)::bigint      AS reply_clicks,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'keyword_sms'), 0)::bigint      AS keyword_sms,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'keyword_whatsapp'), 0)::bigint AS keyword_whatsapp
  FROM pulse.entry_counts c
 GROUP BY c.day, c.source;

-- ==== from schema/views/37_sessions.sql ========================================
-- 37_sessions: kpi_raw.sessions, one row per top-level post of a channel seen as a live *session* (the
-- post and its thread), with the numbers the team asks for during a Q&A. Re-runnable.
--
-- Built on the contract views only (kpi_raw.post_stats, kpi_raw.response_times) plus the first-seen table
-- (011_first_seen.sql), so every figure equals the contract's for the same post:
--   replies, participants (= post_stats.repliers), reply_like_ratio: kpi_raw.post_stats;
--   addressed, answered, unanswered, median/longest response: kpi_raw.response_times of the post.
-- New vs returning participants: a participant (an account that replied in the thread) is *new*
-- when its first engagement with the channel (kpi_raw.account_first_seen) is at or after the moment
-- the post was published -- it first showed up in this session -- and *returning* when it had
-- engaged with the channel before. new + returning = participants always.
-- Every column is a pure function of the stored rows (no now()), so both tiers give the same rows.
-- Both lateral parts are aggregates without GROUP BY: always one row, counts 0 for an empty thread.
CREATE OR REPLACE VIEW kpi_raw.sessions AS
SELECT ps.channel,
       ps.post_id,
       ps.posted_at,
       ps.format,
       ps.url,
       ps.replies,
       ps.repliers                                                   AS participants,
       np.new_participants,
       ps.repliers - np.new_participants                             AS returning_participants,
       ps.favourites,
       ps.reply_like_ratio,
       ps.first_reply_at,
       np.last_reply_at,
       rt.addressed,
       rt.answered,
       rt.addressed - rt.answered                                    AS unanswered,
       rt.median_response_seconds,
       rt.longest_response_seconds
  FROM kpi_raw.post_stats ps
  LEFT JOIN LATERAL (
        -- the thread's repliers (the same set post_stats.repliers counts), each with when it was
        -- first seen by the channel; an account without a first-seen row counts as new
        SELECT count(*) FILTER (WHERE coalesce(f.first_seen_at, ps.posted_at) >= ps.posted_at) AS new_participants,
               max(a.last_at) AS last_reply_at
          FROM (SELECT r.account_key, max(r.created_at) AS last_at
                  FROM pulse.statuses r
                 WHERE r.channel = ps.channel AND r.thread_root_id = ps.post_id AND r.relation <> 'own_post'
                 GROUP BY r.account_key) a
          LEFT JOIN kpi_raw.account_first_seen f ON f.channel = ps.channel AND f.account_key = a.account_key) np
       ON true
  LEFT JOIN LATERAL (
        SELECT count(*) AS addressed,
               count(r.answered_at) AS answered,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY r.response_seconds) AS median_response_seconds,
               max(r.response_seconds) AS longest_response_seconds
          FROM kpi_raw.response_times r
         WHERE r.channel = ps.channel AND r.post_id = ps.post_id
           -- no reply predates its thread's post (an hour's margin for other servers' clocks); the
           -- bound lets the scan start at the post instead of at the channel's first reply
           AND r.replied_at >= ps.posted_at - interval '1 hour') rt ON true;

-- pulse_reader and pulse_analyst (pseudonymous): granted in 40_grants.sql, which runs after this file.

-- ==== from schema/views/39_data_origin.sql ========================================
-- 39_data_origin: does this database hold simulated data? One row, read by the boards' banner.
DROP VIEW IF EXISTS kpi_raw.data_origin;
CREATE VIEW kpi_raw.data_origin AS
-- One pass over pulse.data_origin (at most two rows); the aggregate gives one row even when it is empty.
SELECT coalesce(bool_or(o.origin = 'simulated'), false)  AS simulated,
       min(o.first_at) FILTER (WHERE o.origin = 'simulated') AS simulated_since,
       max(o.last_at)  FILTER (WHERE o.origin = 'simulated') AS simulated_last_run,
       coalesce(bool_or(o.origin = 'real'), false)       AS real,
       min(o.first_at) FILTER (WHERE o.origin = 'real')  AS real_since,
       CASE WHEN bool_or(o.origin = 'simulated') THEN 'simulated'
            WHEN bool_or(o.origin = 'real')      THEN 'real'
            ELSE 'none'
       END                                               AS origin
  FROM pulse.data_origin o;


-- ==== the raw definitions of schema/views/28_live_rollups.sql's kpi functions ==================
-- Added with that file (the Live board read kpi.engagements directly before): what the functions
-- mean, straight from the events, so the bench checks the rollup answers against them.

-- Engagements in [from, to) per kind and bucket: multiples of `bucket` (at least a minute) since the
-- UNIX epoch, as Grafana's $__timeGroup; bucket NULL = the whole range, labelled `from`.
CREATE OR REPLACE FUNCTION kpi_raw.engagement_series(p_from timestamptz, p_to timestamptz,
                                                     p_bucket interval DEFAULT NULL, p_channel text DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, replies bigint, mentions bigint, quotes bigint, favourites bigint,
               reblogs bigint, follows bigint)
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_bucket IS NULL THEN p_from
              ELSE to_timestamp((floor(extract(epoch FROM e.occurred_at) / greatest(extract(epoch FROM p_bucket), 60))
                                 * greatest(extract(epoch FROM p_bucket), 60))::double precision) END,
         count(*) FILTER (WHERE e.kind = 'reply'), count(*) FILTER (WHERE e.kind = 'mention'),
         count(*) FILTER (WHERE e.kind = 'quote'), count(*) FILTER (WHERE e.kind = 'favourite'),
         count(*) FILTER (WHERE e.kind = 'reblog'), count(*) FILTER (WHERE e.kind = 'follow')
    FROM kpi_raw.engagements e
   WHERE e.occurred_at >= p_from AND e.occurred_at < p_to AND (p_channel IS NULL OR e.channel = p_channel)
   GROUP BY 1
$$;

-- Distinct accounts with an engagement other than a follow in [from, to).
CREATE OR REPLACE FUNCTION kpi_raw.participants(p_from timestamptz, p_to timestamptz, p_channel text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT count(DISTINCT e.account_key)
    FROM kpi_raw.engagements e
   WHERE e.kind <> 'follow' AND e.occurred_at >= p_from AND e.occurred_at < p_to
     AND (p_channel IS NULL OR e.channel = p_channel)
$$;
