-- 30_activity_base: the four relations the activity views read. Re-runnable.
--
--   pulse.activity_statuses_1h / _1d      replies, mentions, quotes      (from pulse.statuses)
--   pulse.activity_interactions_1h / _1d  favourites, reblogs, follows   (from pulse.interactions)
--   columns: channel, bucket, account_key, post_ref, <counts>
--
-- Full TimescaleDB: real-time continuous aggregates (materialized_only = false), one per hypertable
-- (a continuous aggregate reads a single hypertable: no UNION, so statuses and interactions are
-- separate and the kpi views combine them). Grouped per account and post so that the kpi views can
-- count distinct accounts exactly and attach the post's format at query time (the format map can
-- change without re-materialising). The _1d ones are the per-account daily rollup.
-- Apache-only TimescaleDB and plain PostgreSQL: ordinary views with one row per event and the same
-- columns; the kpi views sum and count-distinct over either shape, so the results are identical.
-- Their buckets are immutable expressions (AT TIME ZONE with the timezone written in as a literal)
-- with a matching expression index each, so a filter on kpi.activity_*.bucket (Grafana's
-- $__timeFilter) reaches the events through an index instead of computing every event's bucket.
-- The daily ones are rebuilt for a new timezone like the aggregates (the index comment records it).
--
-- Buckets: _1h = clock hours in UTC (= local hours wherever the offset is whole hours, as in
-- Europe/Amsterdam; a fall-back night shows its repeated local hour as two buckets, not one 2-hour
-- bucket). _1d = local calendar days in pulse.config 'timezone' (23 or 25 hours on DST days).
-- A continuous aggregate bakes the timezone into its definition, so when the configured timezone
-- differs from the one the _1d aggregates were built with (pulse.config 'aggregates_timezone'), they
-- are dropped and re-created here, and 49_refresh.sql re-materialises them after this transaction.
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
    -- Ordinary views, one row per event, bucketed by immutable expressions the indexes below match.
    FOREACH grain IN ARRAY ARRAY['1h', '1d'] LOOP
      IF grain = '1h' THEN
        st_bucket := $$(date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')$$;
        ia_bucket := $$(date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')$$;
      ELSE
        st_bucket := format($$(date_trunc('day', created_at AT TIME ZONE %1$L) AT TIME ZONE %1$L)$$, tz);
        ia_bucket := format($$(date_trunc('day', occurred_at AT TIME ZONE %1$L) AT TIME ZONE %1$L)$$, tz);
      END IF;
      -- (Re)build the bucket indexes when missing or built for another timezone. Building one locks
      -- out writers for a while on a big table: first migrate after an upgrade, or a new timezone.
      idx_tz := CASE grain WHEN '1h' THEN 'UTC' ELSE tz END;  -- hours do not depend on it
      IF obj_description(to_regclass(format('pulse.statuses_bucket_%s_idx', grain)), 'pg_class')
         IS DISTINCT FROM idx_tz THEN
        EXECUTE format('DROP INDEX IF EXISTS pulse.statuses_bucket_%s_idx', grain);
        EXECUTE format('CREATE INDEX statuses_bucket_%s_idx ON pulse.statuses (%s) WHERE %s',
                       grain, st_bucket, where_st);
        EXECUTE format('COMMENT ON INDEX pulse.statuses_bucket_%s_idx IS %L', grain, idx_tz);
      END IF;
      IF obj_description(to_regclass(format('pulse.interactions_bucket_%s_idx', grain)), 'pg_class')
         IS DISTINCT FROM idx_tz THEN
        EXECUTE format('DROP INDEX IF EXISTS pulse.interactions_bucket_%s_idx', grain);
        EXECUTE format('CREATE INDEX interactions_bucket_%s_idx ON pulse.interactions (%s)',
                       grain, ia_bucket);
        EXECUTE format('COMMENT ON INDEX pulse.interactions_bucket_%s_idx IS %L', grain, idx_tz);
      END IF;
      EXECUTE format($v$
        CREATE OR REPLACE VIEW pulse.activity_statuses_%s AS
        SELECT channel, %s AS bucket, account_key, %s AS post_ref,
               (CASE WHEN %s THEN 1 ELSE 0 END)::bigint AS replies,
               (CASE WHEN NOT %s AND relation = 'mention' THEN 1 ELSE 0 END)::bigint AS mentions,
               (CASE WHEN NOT %s AND relation = 'quote' THEN 1 ELSE 0 END)::bigint AS quotes
          FROM pulse.statuses
         WHERE %s$v$, grain, st_bucket, post_ref, is_reply, is_reply, is_reply, where_st);
      EXECUTE format($v$
        CREATE OR REPLACE VIEW pulse.activity_interactions_%s AS
        SELECT channel, %s AS bucket, account_key, status_id AS post_ref,
               (CASE WHEN kind = 'favourite' THEN 1 ELSE 0 END)::bigint AS favourites,
               (CASE WHEN kind = 'reblog' THEN 1 ELSE 0 END)::bigint AS reblogs,
               (CASE WHEN kind = 'follow' THEN 1 ELSE 0 END)::bigint AS follows
          FROM pulse.interactions$v$, grain, ia_bucket);
    END LOOP;
    RETURN;
  END IF;

  -- ---- full TimescaleDB ------------------------------------------------------------------------
  built_tz := (SELECT value FROM pulse.config WHERE key = 'aggregates_timezone');
  EXECUTE $q$SELECT count(*) = 4 FROM timescaledb_information.continuous_aggregates
              WHERE view_schema = 'pulse' AND view_name LIKE 'activity\_%'$q$ INTO have_caggs;
  IF have_caggs AND built_tz IS NOT DISTINCT FROM tz THEN
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
      SELECT channel, %s AS bucket, account_key, %s AS post_ref,
             count(CASE WHEN %s THEN 1 END) AS replies,
             count(CASE WHEN NOT %s AND relation = 'mention' THEN 1 END) AS mentions,
             count(CASE WHEN NOT %s AND relation = 'quote' THEN 1 END) AS quotes
        FROM pulse.statuses
       WHERE %s
       GROUP BY channel, bucket, account_key, post_ref
      WITH NO DATA$v$, grain, st_bucket, post_ref, is_reply, is_reply, is_reply, where_st);
    EXECUTE format($v$
      CREATE MATERIALIZED VIEW pulse.activity_interactions_%s
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT channel, %s AS bucket, account_key, status_id AS post_ref,
             count(CASE WHEN kind = 'favourite' THEN 1 END) AS favourites,
             count(CASE WHEN kind = 'reblog' THEN 1 END) AS reblogs,
             count(CASE WHEN kind = 'follow' THEN 1 END) AS follows
        FROM pulse.interactions
       GROUP BY channel, bucket, account_key, post_ref
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
  INSERT INTO pulse.config (key, value) VALUES ('aggregates_refresh_pending', 'true')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
END $do$;
