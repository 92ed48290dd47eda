-- 38_background_jobs: kpi.background_jobs, the TimescaleDB background jobs that keep this database's
-- rollups and storage right, with their health. Re-runnable.
--
-- Why: a continuous aggregate whose refresh policy keeps failing (TimescaleDB 2.28.3 on PostgreSQL
-- 15.20: every scheduled job failed with `cannot drop portal "" while it is being set up`) looks on
-- the boards exactly like a quiet channel. This view is what the Ingester health board and the
-- "background jobs" alert read.
--
-- Full TimescaleDB: one row per job that works on a pulse relation or runs a pulse procedure (refresh,
-- compression and retention policies, pulse.refresh_aggregates_job), read through a SECURITY DEFINER
-- function: timescaledb_information.job_errors filters by the caller's roles, and
-- _timescaledb_functions.cagg_watermark checks that the caller may read the aggregate, which
-- pulse_analyst and pulse_reader's Grafana must not need.
-- Plain PostgreSQL and Apache-only TimescaleDB: no such jobs (the rollups are kept in the writing
-- transaction), so the same columns and no rows; the view text names no TimescaleDB object there.
--
-- Lag of a continuous aggregate: the watermark alone (end of the highest materialised bucket) stops
-- when the channel goes quiet, so it would make a quiet night look like a stalled refresh. A
-- successful run of a refresh policy materialises everything up to (its start - end_offset), so
-- the aggregate is materialised up to the later of the watermark and (last success - end_offset);
-- lag = now() - that. Buckets after it are served from the raw events (real-time aggregation): a lag
-- makes the boards slower and shows that refreshing stopped, it does not make a figure wrong.
DROP VIEW IF EXISTS kpi.background_jobs;
DROP FUNCTION IF EXISTS pulse.background_jobs();

DO $do$
DECLARE
  -- columns and types of the contract, the same on every tier
  cols text := $$job_id integer, kind text, proc text, relation text, scheduled boolean,
                 schedule_interval interval, last_run_status text, last_run_started_at timestamptz,
                 last_successful_finish timestamptz, consecutive_failures integer, total_runs bigint,
                 total_failures bigint, next_start timestamptz, last_error text,
                 materialized_until timestamptz, lag interval, lag_limit interval, failing boolean,
                 lagging boolean$$;
  -- internal catalogue parts that moved or appeared between releases: used when present
  consecutive text := 'NULL::integer';
  stat_join   text := '';
  errors      text := 'NULL::text';
  watermark   text := 'NULL::timestamptz';
BEGIN
  IF pulse.tier() <> 'timescale' THEN
    EXECUTE format($v$
      CREATE VIEW kpi.background_jobs AS
      SELECT %s
       WHERE false$v$,
      (SELECT string_agg(format('NULL::%s AS %s', split_part(c, ' ', 2), split_part(c, ' ', 1)), ', ')
         FROM unnest(regexp_split_to_array(regexp_replace(cols, '\s+', ' ', 'g'), ', ')) AS c));
    RETURN;
  END IF;

  IF to_regclass('_timescaledb_internal.bgw_job_stat') IS NOT NULL THEN
    consecutive := 'st.consecutive_failures';
    stat_join := 'LEFT JOIN _timescaledb_internal.bgw_job_stat st ON st.job_id = j.job_id';
  END IF;
  IF to_regclass('timescaledb_information.job_errors') IS NOT NULL THEN
    errors := $$(SELECT e.err_message FROM timescaledb_information.job_errors e
                  WHERE e.job_id = j.job_id ORDER BY e.start_time DESC LIMIT 1)$$;
  END IF;
  IF to_regprocedure('_timescaledb_functions.cagg_watermark(integer)') IS NOT NULL
     AND to_regprocedure('_timescaledb_functions.to_timestamp(bigint)') IS NOT NULL THEN
    -- the lowest timestamptz TimescaleDB knows (-210866803200000000 us) means "nothing materialised yet"
    watermark := $$(SELECT _timescaledb_functions.to_timestamp(w.v)
                      FROM (SELECT _timescaledb_functions.cagg_watermark(
                                     (j.config ->> 'mat_hypertable_id')::integer) AS v) w
                     WHERE w.v > -210866803200000000)$$;
  END IF;

  EXECUTE format($f$
    CREATE FUNCTION pulse.background_jobs() RETURNS TABLE (%s)
    LANGUAGE sql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
      SELECT b.*,
             coalesce(b.last_run_status = 'Failed' OR b.consecutive_failures > 0, false) AS failing,
             coalesce(b.lag > b.lag_limit, false) AS lagging
        FROM (
          SELECT a.job_id, a.kind, a.proc, a.relation, a.scheduled, a.schedule_interval, a.last_run_status,
                 a.last_run_started_at, a.last_successful_finish, a.consecutive_failures, a.total_runs,
                 a.total_failures, a.next_start,
                 CASE WHEN a.last_run_status = 'Failed' THEN a.last_error END AS last_error,
                 a.materialized_until,
                 now() - greatest(a.materialized_until, a.last_successful_finish - a.end_offset) AS lag,
                 -- a healthy policy succeeds at least every schedule_interval; twice that plus an hour
                 -- for a slow run: 1 h 03 min for the hourly aggregates, 2 h 20 min for the daily ones
                 a.end_offset + 2 * a.schedule_interval + interval '1 hour' AS lag_limit
            FROM (
              SELECT j.job_id,
                     CASE j.proc_name WHEN 'policy_refresh_continuous_aggregate' THEN 'refresh'
                                      WHEN 'policy_compression' THEN 'compression'
                                      WHEN 'policy_retention' THEN 'retention'
                                      WHEN 'policy_reorder' THEN 'reorder'
                                      ELSE 'job' END AS kind,
                     format('%%s.%%s', j.proc_schema, j.proc_name) AS proc,
                     CASE WHEN j.hypertable_name IS NOT NULL
                          THEN format('%%s.%%s', j.hypertable_schema, j.hypertable_name) END AS relation,
                     j.scheduled,
                     j.schedule_interval,
                     s.last_run_status,
                     nullif(s.last_run_started_at, '-infinity') AS last_run_started_at,
                     nullif(s.last_successful_finish, '-infinity') AS last_successful_finish,
                     coalesce(%s, 0) AS consecutive_failures,  -- never ran: no stats row, 0 runs
                     coalesce(s.total_runs, 0) AS total_runs,
                     coalesce(s.total_failures, 0) AS total_failures,
                     nullif(s.next_start, '-infinity') AS next_start,
                     %s AS last_error,
                     CASE WHEN j.proc_name = 'policy_refresh_continuous_aggregate' THEN %s END
                       AS materialized_until,
                     CASE WHEN j.proc_name = 'policy_refresh_continuous_aggregate'
                          THEN (j.config ->> 'end_offset')::interval END AS end_offset
                FROM timescaledb_information.jobs j
                LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
                %s
               WHERE j.hypertable_schema = 'pulse' OR j.proc_schema = 'pulse') a) b
       ORDER BY b.job_id
    $body$$f$, cols, consecutive, errors, watermark, stat_join);

  REVOKE ALL ON FUNCTION pulse.background_jobs() FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION pulse.background_jobs() TO pulse_reader, pulse_analyst;
  CREATE VIEW kpi.background_jobs AS SELECT * FROM pulse.background_jobs();
END $do$;

COMMENT ON VIEW kpi.background_jobs IS
  'The TimescaleDB background jobs that keep this database''s rollups and storage right (refresh, compression and '
  'retention policies; pulse.refresh_aggregates_job), one row each, with their health. No rows on plain '
  'PostgreSQL and Apache-only TimescaleDB: there the rollups are kept in the same transaction as the events.';
COMMENT ON COLUMN kpi.background_jobs.job_id IS 'TimescaleDB job id (timescaledb_information.jobs).';
COMMENT ON COLUMN kpi.background_jobs.kind IS 'refresh | compression | retention | reorder | job (a procedure of its own).';
COMMENT ON COLUMN kpi.background_jobs.proc IS 'The procedure the job runs, schema-qualified.';
COMMENT ON COLUMN kpi.background_jobs.relation IS 'The hypertable or continuous aggregate it works on (NULL: a job of its own).';
COMMENT ON COLUMN kpi.background_jobs.scheduled IS 'False when the job is paused.';
COMMENT ON COLUMN kpi.background_jobs.schedule_interval IS 'How often the scheduler starts it.';
COMMENT ON COLUMN kpi.background_jobs.last_run_status IS 'Success | Failed of the latest finished run (NULL: never ran).';
COMMENT ON COLUMN kpi.background_jobs.last_run_started_at IS 'Start of the latest run (NULL: never ran).';
COMMENT ON COLUMN kpi.background_jobs.last_successful_finish IS 'End of the latest successful run (NULL: never succeeded).';
COMMENT ON COLUMN kpi.background_jobs.consecutive_failures IS 'Failed runs in a row up to now (0 after a success).';
COMMENT ON COLUMN kpi.background_jobs.total_runs IS 'Runs since the job was created.';
COMMENT ON COLUMN kpi.background_jobs.total_failures IS 'Failed runs since the job was created.';
COMMENT ON COLUMN kpi.background_jobs.next_start IS 'When the scheduler starts it next (NULL: paused or not planned yet).';
COMMENT ON COLUMN kpi.background_jobs.last_error IS 'Error message of the latest run when it failed (NULL otherwise).';
COMMENT ON COLUMN kpi.background_jobs.materialized_until IS
  'Refresh policies: the aggregate''s watermark, the end of its highest materialised bucket (NULL: nothing yet; other kinds: NULL).';
COMMENT ON COLUMN kpi.background_jobs.lag IS
  'Refresh policies: now() minus how far the aggregate is materialised (the later of materialized_until and the last '
  'success minus the policy''s end_offset); a quiet channel does not make it grow, a refresh that stopped does. '
  'Newer buckets come from the raw events (real-time aggregation). NULL for other kinds and before any refresh.';
COMMENT ON COLUMN kpi.background_jobs.lag_limit IS
  'Refresh policies: the lag a healthy policy stays under (end_offset + 2 x schedule_interval + 1 hour).';
COMMENT ON COLUMN kpi.background_jobs.failing IS 'The latest run failed (or failures in a row): what the alert fires on.';
COMMENT ON COLUMN kpi.background_jobs.lagging IS 'lag is above lag_limit: the aggregate is no longer kept up to date.';
