-- 25_refresh: procedures that materialise the continuous aggregates of 30_activity_base.sql.
-- Re-runnable. They exist on every tier (no-ops below full TimescaleDB) so that callers (tests,
-- operators, 49_refresh.sql) need no tier check.

-- Materialise the aggregates over [window_start, window_end) (NULL start = from the first event). A
-- no-op below full TimescaleDB. Refreshing runs its own transactions: CALL it on its own, outside a
-- transaction block (psql, or a driver in autocommit mode), never from a function.
--
-- Never past the end of each aggregate's last complete bucket (the start of the current hour, or of
-- the current local day), whatever window_end says, just like the policies' end_offset. Once a bucket
-- is materialised, real-time aggregation reads only the materialisation for it and later events
-- wait for the next refresh of that bucket: a refresh to NULL (= the newest event) would freeze
-- today's still-growing 1-day buckets until the policy's window reaches them tomorrow. The current
-- bucket is left to real-time aggregation, which computes it from the events on every read.
--
-- Every continuous aggregate in schema pulse, found in the catalogue (so a new or renamed one needs no
-- change here); one built on another (hierarchical) after the one it reads, then finer before coarser.
-- Wait (up to two minutes) while a background job refreshes `agg`: its refresh policy (the daily
-- catch-up job in another session is kept out by refresh_aggregates' advisory lock). TimescaleDB
-- (2.28) does not queue overlapping refreshes of one aggregate; the second fails with "due to a
-- concurrent refresh" (55P03), and the scheduler starts every job of a fresh database at once, so a
-- refresh right after migrate would often meet one. A run counts from the moment the scheduler marks
-- it started (its statistics then say: started, no end yet), before its worker shows in
-- pg_stat_activity; the worker is known by its backend type (the job's name) from its first instant,
-- by its application_name once it runs. A mark older than 30 s without a worker is a crashed run,
-- not one starting. A job starting in the instant between this check and the refresh can still
-- win: callers that must not fail retry on 55P03 (ingester/migrate.py does). Always false where no
-- background workers run.
CREATE OR REPLACE FUNCTION pulse.await_refresh_jobs(agg regclass) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '2 minutes';
  waited   boolean := false;
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();  -- pg_stat_activity is otherwise read once per transaction
    EXIT WHEN NOT EXISTS (
      SELECT 1 FROM timescaledb_information.jobs j
        LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
       WHERE j.proc_name = 'policy_refresh_continuous_aggregate'
         AND format('%I.%I', j.hypertable_schema, j.hypertable_name)::regclass = agg
         AND (EXISTS (SELECT 1 FROM pg_stat_activity a
                       WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                         AND j.application_name IN (a.application_name, a.backend_type))
              OR (s.last_run_status IS NULL  -- started and not ended (or never run: no start either)
                  AND s.last_run_started_at > clock_timestamp() - interval '30 seconds')));
    -- Not the daily catch-up job: it refreshes only through refresh_aggregates, whose advisory lock the
    -- caller of this function holds, so a running catch-up job is waiting for that lock, and waiting
    -- for it here stalled both for the full two minutes.
    EXIT WHEN clock_timestamp() > deadline;
    waited := true;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN waited;
END $$;

-- An aggregate's refresh policies wait while refresh_aggregates refreshes that aggregate itself.
-- TimescaleDB registers each refresh's window and refuses an overlapping one (55P03 "due to a
-- concurrent refresh"): a policy the scheduler started during a manual refresh (every minute for the
-- hourly aggregates), during the daily catch-up job or during the refresh right after migrate (8 of 10
-- fresh databases) failed, and kpi.background_jobs (and its alert) showed that failure until the
-- policy's next run, up to ten minutes later for the daily aggregates. Its next start is moved an
-- hour ahead (alter_job(next_start => ...)) and put back right after. Not alter_job(scheduled =>
-- false): the scheduler cancels a job that is unscheduled while it runs, and so cancelled (a failed
-- run) any it had started, unseen, in the instant before the pause (2 of 20 new databases); a later
-- next start cancels nothing. Only policies that are scheduled (one an operator paused stays as it is) and
-- that the caller may alter. Each postponed job is noted in pulse.config with its planned start,
-- committed with the postponement, so a refresh that fails or is cancelled in between leaves a note
-- that the next refresh_aggregates (at the latest the daily catch-up job) acts on; without one, the
-- policy runs again an hour later anyway. Returns how many it postponed.
CREATE OR REPLACE FUNCTION pulse.postpone_refresh_policies(agg regclass) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  job       record;
  postponed integer := 0;
BEGIN
  FOR job IN
    SELECT j.job_id, s.next_start FROM timescaledb_information.jobs j
      LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
     WHERE j.proc_name = 'policy_refresh_continuous_aggregate' AND j.scheduled
       AND format('%I.%I', j.hypertable_schema, j.hypertable_name)::regclass = agg
       AND pg_has_role(current_user, j.owner, 'USAGE')
     ORDER BY j.job_id
  LOOP
    -- planned start as it was (-infinity while a run is marked started: then at once, once back)
    INSERT INTO pulse.config (key, value)
    VALUES ('refresh_policy_postponed:' || job.job_id,
            coalesce(nullif(job.next_start, '-infinity'), clock_timestamp())::text)
    ON CONFLICT (key) DO NOTHING;  -- a note left by a refresh that failed keeps the older plan
    PERFORM alter_job(job.job_id, next_start => clock_timestamp() + interval '1 hour');
    postponed := postponed + 1;
  END LOOP;
  RETURN postponed;
END $$;

-- Put back the planned start of every policy postpone_refresh_policies noted (a start that has passed
-- meanwhile: the scheduler runs the policy at once); a job dropped since is just forgotten.
CREATE OR REPLACE FUNCTION pulse.restore_refresh_policies() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  note     record;
  restored integer := 0;
BEGIN
  FOR note IN
    DELETE FROM pulse.config WHERE key LIKE 'refresh_policy\_postponed:%'
    RETURNING split_part(key, ':', 2)::integer AS job, value::timestamptz AS planned
  LOOP
    IF EXISTS (SELECT 1 FROM timescaledb_information.jobs j WHERE j.job_id = note.job AND j.scheduled) THEN
      PERFORM alter_job(note.job, next_start => note.planned);
      restored := restored + 1;
    END IF;
  END LOOP;
  RETURN restored;
END $$;

-- A refresh policy of `agg` whose run since `since` failed all the same (the scheduler started it in
-- the instant before the postponement, unseen, and it met the refresh) is run again at once:
-- the refresh is over, so that run succeeds, and the failure shows for a minute at most (the scheduler
-- wakes at least every minute for the hourly policies), not until the policy's next run (the alert
-- waits five minutes before it fires). Returns how many it restarted.
CREATE OR REPLACE FUNCTION pulse.rerun_failed_refresh_policies(agg regclass, since timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  job   integer;
  rerun integer := 0;
BEGIN
  FOR job IN
    SELECT j.job_id FROM timescaledb_information.jobs j
      JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
     WHERE j.proc_name = 'policy_refresh_continuous_aggregate' AND j.scheduled
       AND format('%I.%I', j.hypertable_schema, j.hypertable_name)::regclass = agg
       AND s.last_run_status = 'Failed' AND s.last_run_started_at >= since
       AND pg_has_role(current_user, j.owner, 'USAGE')
  LOOP
    PERFORM alter_job(job, next_start => clock_timestamp());
    rerun := rerun + 1;
  END LOOP;
  RETURN rerun;
END $$;

CREATE OR REPLACE PROCEDURE pulse.refresh_aggregates(window_start timestamptz DEFAULT NULL,
                                                     window_end timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  agg         record;
  last_end    timestamptz;  -- end of the aggregate's last complete bucket (inside window_end)
  first_start timestamptz;  -- start of its first bucket that lies wholly inside the window
  began       timestamptz;  -- when the work on the aggregate began
  REFRESH_LOCK CONSTANT bigint := 5052415426;  -- "PRAT" + 26: pg_advisory_lock key of this procedure
BEGIN
  IF pulse.tier() <> 'timescale' THEN
    RETURN;
  END IF;
  -- One caller at a time: this procedure is also the daily catch-up job, which the scheduler starts
  -- at once in a new database, and overlapping refreshes of an aggregate fail instead of waiting. A
  -- session lock, because it must outlive the COMMITs below; waited for at most two minutes (a
  -- session whose refresh failed keeps it until it disconnects).
  FOR i IN 1..2400 LOOP
    EXIT WHEN pg_try_advisory_lock(REFRESH_LOCK);
    PERFORM pg_sleep(0.05);
  END LOOP;
  -- Policies a refresh postponed and, failing or cancelled, did not put back.
  IF pulse.restore_refresh_policies() > 0 THEN
    COMMIT;
  END IF;
  FOR agg IN
    WITH RECURSIVE depth AS (
      SELECT c.mat_hypertable_id, 0 AS level FROM _timescaledb_catalog.continuous_agg c
       WHERE c.parent_mat_hypertable_id IS NULL
      UNION ALL
      SELECT c.mat_hypertable_id, d.level + 1 FROM _timescaledb_catalog.continuous_agg c
        JOIN depth d ON c.parent_mat_hypertable_id = d.mat_hypertable_id
    )
    SELECT format('%I.%I', c.user_view_schema, c.user_view_name)::regclass AS name,
           f.bucket_width::interval AS width,
           coalesce(f.bucket_timezone, 'UTC') AS tz,  -- a bucket without a zone is cut in UTC
           f.bucket_origin::timestamptz AS origin, f.bucket_offset::interval AS "offset"
      FROM _timescaledb_catalog.continuous_agg c
      JOIN _timescaledb_catalog.continuous_aggs_bucket_function f USING (mat_hypertable_id)
      JOIN depth d USING (mat_hypertable_id)
     WHERE c.user_view_schema = 'pulse'
     ORDER BY d.level, f.bucket_width::interval, c.user_view_name
  LOOP
    -- now() is this transaction's start; each COMMIT below starts a new one.
    last_end := time_bucket(agg.width, least(coalesce(window_end, 'infinity'), now()),
                            agg.tz, agg.origin, agg."offset");
    first_start := CASE
      WHEN window_start IS NULL THEN '-infinity'
      WHEN time_bucket(agg.width, window_start, agg.tz, agg.origin, agg."offset") = window_start
        THEN window_start
      ELSE time_bucket(agg.width, window_start + agg.width, agg.tz, agg.origin, agg."offset")
    END;
    -- No whole bucket in the window: nothing to do (TimescaleDB would refuse "window too small").
    CONTINUE WHEN first_start >= last_end;
    -- Its policy must not start during this refresh (it would fail): let a running one finish,
    -- postpone it, let one finish that started in the instant before, refresh, put its start back,
    -- and run again a policy that failed all the same.
    began := clock_timestamp();
    PERFORM pulse.await_refresh_jobs(agg.name);
    IF pulse.postpone_refresh_policies(agg.name) > 0 THEN
      COMMIT;  -- the scheduler sees the new start only once it is committed
      PERFORM pulse.await_refresh_jobs(agg.name);
    END IF;
    CALL refresh_continuous_aggregate(agg.name, window_start, last_end);
    COMMIT;
    IF pulse.restore_refresh_policies() + pulse.rerun_failed_refresh_policies(agg.name, began) > 0 THEN
      COMMIT;
    END IF;
  END LOOP;
  PERFORM pg_advisory_unlock(REFRESH_LOCK);  -- false (and a warning) if the wait above gave up
END $$;

-- After (re)building: materialise everything once, then clear the flag (49_refresh.sql).
CREATE OR REPLACE PROCEDURE pulse.refresh_pending_aggregates()
LANGUAGE plpgsql AS $$
BEGIN
  IF pulse.tier() = 'timescale'
     AND EXISTS (SELECT 1 FROM pulse.config WHERE key = 'aggregates_refresh_pending') THEN
    CALL pulse.refresh_aggregates(NULL, NULL);
    DELETE FROM pulse.config WHERE key = 'aggregates_refresh_pending';
    COMMIT;
  END IF;
END $$;

-- The daily catch-up job (TimescaleDB job signature).
CREATE OR REPLACE PROCEDURE pulse.refresh_aggregates_job(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
BEGIN
  CALL pulse.refresh_aggregates(now() - interval '400 days', now() - interval '1 hour');
END $$;
