-- 25_refresh: procedures that materialise the continuous aggregates of 30_activity_base.sql.
-- Re-runnable. They exist on every tier (no-ops below full TimescaleDB) so that callers (tests,
-- operators, 49_refresh.sql) need no tier check.

-- Materialise the aggregates over [window_start, window_end) (NULL = unbounded). A no-op below full
-- TimescaleDB. Refreshing runs its own transactions: CALL it on its own, outside a transaction block
-- (psql, or a driver in autocommit mode), never from a function.
CREATE OR REPLACE PROCEDURE pulse.refresh_aggregates(window_start timestamptz DEFAULT NULL,
                                                     window_end timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
  IF pulse.tier() <> 'timescale' THEN
    RETURN;
  END IF;
  CALL refresh_continuous_aggregate('pulse.activity_statuses_1h', window_start, window_end);
  COMMIT;
  CALL refresh_continuous_aggregate('pulse.activity_interactions_1h', window_start, window_end);
  COMMIT;
  CALL refresh_continuous_aggregate('pulse.activity_statuses_1d', window_start, window_end);
  COMMIT;
  CALL refresh_continuous_aggregate('pulse.activity_interactions_1d', window_start, window_end);
  COMMIT;
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
