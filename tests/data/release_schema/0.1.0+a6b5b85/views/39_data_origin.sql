-- 39_data_origin: does this database hold simulated data? One row, read by the boards' banner.
DROP VIEW IF EXISTS kpi.data_origin;
CREATE VIEW kpi.data_origin AS
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
COMMENT ON VIEW kpi.data_origin IS
  'Whether this database has received simulated data (the built-in simulator: ingester demo, run --simulate). '
  'origin = simulated | real | none; simulated wins, because one simulated row makes every KPI untrustworthy.';
COMMENT ON COLUMN kpi.data_origin.simulated IS 'True once the built-in simulator has written into this database.';
COMMENT ON COLUMN kpi.data_origin.simulated_since IS 'First run of the simulator against this database (NULL: never).';
COMMENT ON COLUMN kpi.data_origin.simulated_last_run IS 'Latest run of the simulator against this database (NULL: never).';
COMMENT ON COLUMN kpi.data_origin.real IS 'True once a real Mastodon channel has been ingested into this database.';
COMMENT ON COLUMN kpi.data_origin.real_since IS 'First real run against this database (NULL: never).';
COMMENT ON COLUMN kpi.data_origin.origin IS 'simulated | real | none (simulated wins: one simulated row spoils every KPI).';
