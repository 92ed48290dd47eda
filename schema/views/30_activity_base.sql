-- 30_activity_base: the four relations of engagement COUNTS the activity views read. Re-runnable.
--
--   pulse.activity_statuses_1h / _1d      replies, mentions, quotes      (from pulse.statuses)
--   pulse.activity_interactions_1h / _1d  favourites, reblogs, follows   (from pulse.interactions)
--   columns: channel, bucket, post_ref, <counts>   -- one row per channel, bucket and post
--
-- Keyed by post, not by account: the kpi views attach the post's format when reading (the format
-- map and a post's hashtags can change without re-materialising), and take distinct accounts from
-- the account sets of pulse.rollup_accounts (020_rollups.sql), never from per-account rows (keying
-- by account made these as many rows as events: reading them was as slow as the events).
-- Full TimescaleDB: real-time continuous aggregates (materialized_only = false), one per hypertable
-- (a continuous aggregate reads a single hypertable: no UNION, so statuses and interactions are
-- separate and the kpi views combine them).
-- Apache-only TimescaleDB and plain PostgreSQL: views over pulse.rollup_counts, which the triggers
-- of 24_rollup_triggers.sql keep in the writer's transaction.
--
-- Buckets: _1h = clock hours in UTC (= local hours wherever the offset is whole hours, as in
-- Europe/Amsterdam; a fall-back night shows its repeated local hour as two buckets, not one 2-hour
-- bucket). _1d = local calendar days in pulse.config 'timezone' (23 or 25 hours on DST days).
-- A continuous aggregate bakes the timezone into its definition, so when the configured timezone
-- differs from the one the _1d aggregates were built with (pulse.config 'aggregates_timezone'), or
-- they were built by an earlier release (pulse.config 'aggregates_version'), they are dropped and
-- re-created here, and 49_refresh.sql re-materialises them after this transaction.
DO $do$
DECLARE
  tz          text := pulse.timezone();
  is_reply    text := $$(thread_root_id IS NOT NULL OR relation = 'reply')$$;
  post_ref    text := $$CASE WHEN thread_root_id IS NOT NULL THEN thread_root_id
                            WHEN relation = 'reply' THEN in_reply_to_id
                            WHEN relation = 'quote' THEN quoted_id END$$;
  where_st    text := $$relation <> 'own_post'
                        AND (thread_root_id IS NOT NULL OR relation IN ('reply', 'quote', 'mention'))$$;
  st_bucket   text;
  ia_bucket   text;
  grain       text;
  rel         text;
  built_tz    text;
  idx_tz      text;
  have_caggs  boolean;
BEGIN
  IF pulse.tier() <> 'timescale' THEN
    -- The counts the triggers of 24_rollup_triggers.sql keep in pulse.rollup_counts (post_ref '' for
    -- engagements about no post, where the continuous aggregates have NULL: both match no post). The bucket
    -- expression indexes earlier releases built on the event tables for these views are no longer
    -- read by anything: drop them (they cost every write).
    FOREACH grain IN ARRAY ARRAY['1h', '1d'] LOOP
      EXECUTE format('DROP INDEX IF EXISTS pulse.statuses_bucket_%s_idx', grain);
      EXECUTE format('DROP INDEX IF EXISTS pulse.interactions_bucket_%s_idx', grain);
      FOREACH rel IN ARRAY ARRAY['statuses', 'interactions'] LOOP
        -- an earlier release's one-row-per-event view has other columns: replace it (the kpi views
        -- on top go with it and are made again by the later files of this run)
        IF EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = 'pulse' AND table_name = format('activity_%s_%s', rel, grain)
                      AND column_name = 'account_key') THEN
          EXECUTE format('DROP VIEW pulse.activity_%s_%s CASCADE', rel, grain);
        END IF;
      END LOOP;
      EXECUTE format($v$
        CREATE OR REPLACE VIEW pulse.activity_statuses_%1$s AS
        SELECT channel, bucket, post_ref, replies, mentions, quotes
          FROM pulse.rollup_counts
         WHERE grain = %1$L AND (replies <> 0 OR mentions <> 0 OR quotes <> 0)$v$, grain);
      EXECUTE format($v$
        CREATE OR REPLACE VIEW pulse.activity_interactions_%1$s AS
        SELECT channel, bucket, post_ref, favourites, reblogs, follows
          FROM pulse.rollup_counts
         WHERE grain = %1$L AND (favourites <> 0 OR reblogs <> 0 OR follows <> 0)$v$, grain);
    END LOOP;
    RETURN;
  END IF;

  -- ---- full TimescaleDB ------------------------------------------------------------------------
  built_tz := (SELECT value FROM pulse.config WHERE key = 'aggregates_timezone');
  EXECUTE $q$SELECT count(*) = 4 FROM timescaledb_information.continuous_aggregates
              WHERE view_schema = 'pulse' AND view_name LIKE 'activity\_%'$q$ INTO have_caggs;
  -- version 2: keyed by post, not by account (distinct accounts come from pulse.rollup_accounts)
  IF have_caggs AND built_tz IS NOT DISTINCT FROM tz
     AND (SELECT value FROM pulse.config WHERE key = 'aggregates_version') IS NOT DISTINCT FROM '2' THEN
    RETURN;  -- up to date
  END IF;

  -- (Re)build. Whatever is there (plain views from an earlier tier, or aggregates built for another
  -- timezone) goes, with the kpi views on top; the later files of this run re-create those.
  FOREACH rel IN ARRAY ARRAY['activity_statuses_1h', 'activity_interactions_1h',
                             'activity_statuses_1d', 'activity_interactions_1d'] LOOP
    IF EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                WHERE view_schema = 'pulse' AND view_name = rel) THEN
      EXECUTE format('DROP MATERIALIZED VIEW pulse.%I CASCADE', rel);
    ELSE
      EXECUTE format('DROP VIEW IF EXISTS pulse.%I CASCADE', rel);
    END IF;
  END LOOP;

  FOREACH grain IN ARRAY ARRAY['1h', '1d'] LOOP
    IF grain = '1h' THEN
      st_bucket := $$time_bucket(interval '1 hour', created_at)$$;
      ia_bucket := $$time_bucket(interval '1 hour', occurred_at)$$;
    ELSE
      st_bucket := format($$time_bucket(interval '1 day', created_at, %L)$$, tz);
      ia_bucket := format($$time_bucket(interval '1 day', occurred_at, %L)$$, tz);
    END IF;
    -- WITH NO DATA: allowed inside this transaction; 49_refresh.sql materialises afterwards.
    EXECUTE format($v$
      CREATE MATERIALIZED VIEW pulse.activity_statuses_%s
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT channel, %s AS bucket, %s AS post_ref,
             count(CASE WHEN %s THEN 1 END) AS replies,
             count(CASE WHEN NOT %s AND relation = 'mention' THEN 1 END) AS mentions,
             count(CASE WHEN NOT %s AND relation = 'quote' THEN 1 END) AS quotes
        FROM pulse.statuses
       WHERE %s
       GROUP BY channel, bucket, post_ref
      WITH NO DATA$v$, grain, st_bucket, post_ref, is_reply, is_reply, is_reply, where_st);
    EXECUTE format($v$
      CREATE MATERIALIZED VIEW pulse.activity_interactions_%s
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT channel, %s AS bucket, status_id AS post_ref,
             count(CASE WHEN kind = 'favourite' THEN 1 END) AS favourites,
             count(CASE WHEN kind = 'reblog' THEN 1 END) AS reblogs,
             count(CASE WHEN kind = 'follow' THEN 1 END) AS follows
        FROM pulse.interactions
       GROUP BY channel, bucket, post_ref
      WITH NO DATA$v$, grain, ia_bucket);
  END LOOP;

  -- Refresh policies. The default schedule (24 h) is far too slow for live boards; real-time
  -- aggregation covers the not-yet-materialised tail, so these only keep that tail short.
  -- start_offset 35 days: thread polling finds replies up to 30 days after a post, so late rows
  -- land up to ~30 days back and must still be inside the refresh window.
  FOREACH rel IN ARRAY ARRAY['activity_statuses_1h', 'activity_interactions_1h'] LOOP
    EXECUTE format($p$SELECT add_continuous_aggregate_policy('pulse.%I',
        start_offset => interval '35 days', end_offset => interval '1 minute',
        schedule_interval => interval '1 minute', if_not_exists => true)$p$, rel);
    EXECUTE format('ALTER MATERIALIZED VIEW pulse.%I SET (timescaledb.compress = true)', rel);
    EXECUTE format($p$SELECT add_compression_policy('pulse.%I', compress_after => interval '45 days',
        if_not_exists => true)$p$, rel);
    EXECUTE format($p$SELECT add_retention_policy('pulse.%I', drop_after => interval '450 days',
        if_not_exists => true)$p$, rel);
  END LOOP;
  FOREACH rel IN ARRAY ARRAY['activity_statuses_1d', 'activity_interactions_1d'] LOOP
    EXECUTE format($p$SELECT add_continuous_aggregate_policy('pulse.%I',
        start_offset => interval '35 days', end_offset => interval '1 hour',
        schedule_interval => interval '10 minutes', if_not_exists => true)$p$, rel);
    EXECUTE format('ALTER MATERIALIZED VIEW pulse.%I SET (timescaledb.compress = true)', rel);
    EXECUTE format($p$SELECT add_compression_policy('pulse.%I', compress_after => interval '45 days',
        if_not_exists => true)$p$, rel);
    -- daily rollups are kept (no retention): they are small and outlive the raw data
  END LOOP;

  -- Raw data: compressed after the thread-polling and refresh windows have passed; kept three years,
  -- longer than every refresh window (35 days; the daily catch-up job below reaches 400 days), so a
  -- refresh never sees dropped raw rows and deletes aggregate rows.
  FOREACH rel IN ARRAY ARRAY['statuses', 'interactions', 'post_snapshots'] LOOP
    IF NOT (SELECT h.compression_enabled FROM timescaledb_information.hypertables h
             WHERE h.hypertable_schema = 'pulse' AND h.hypertable_name = rel) THEN
      EXECUTE format($p$ALTER TABLE pulse.%I SET (timescaledb.compress,
                       timescaledb.compress_segmentby = 'channel')$p$, rel);
    END IF;
    EXECUTE format($p$SELECT add_compression_policy('pulse.%I', compress_after => interval '60 days',
        if_not_exists => true)$p$, rel);
    EXECUTE format($p$SELECT add_retention_policy('pulse.%I', drop_after => interval '1095 days',
        if_not_exists => true)$p$, rel);
  END LOOP;

  -- Late rows older than the policies' 35-day window (a first-start backfill, a long outage) are
  -- logged as invalidations but no policy refreshes them: a daily job does.
  IF NOT EXISTS (SELECT 1 FROM timescaledb_information.jobs
                  WHERE proc_schema = 'pulse' AND proc_name = 'refresh_aggregates_job') THEN
    PERFORM add_job('pulse.refresh_aggregates_job', interval '1 day');
  END IF;

  INSERT INTO pulse.config (key, value) VALUES ('aggregates_timezone', tz)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
  INSERT INTO pulse.config (key, value) VALUES ('aggregates_version', '2')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
  INSERT INTO pulse.config (key, value) VALUES ('aggregates_refresh_pending', 'true')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
END $do$;
