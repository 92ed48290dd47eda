-- 39_data_origin: does this database hold simulated data? One row, read by the boards' banner.
DROP VIEW IF EXISTS kpi.data_origin;
CREATE VIEW kpi.data_origin AS
SELECT
  EXISTS (SELECT 1 FROM pulse.data_origin WHERE origin = 'simulated')     AS simulated,
  (SELECT first_at FROM pulse.data_origin WHERE origin = 'simulated')     AS simulated_since,
  (SELECT last_at  FROM pulse.data_origin WHERE origin = 'simulated')     AS simulated_last_run,
  EXISTS (SELECT 1 FROM pulse.data_origin WHERE origin = 'real')          AS real,
  (SELECT first_at FROM pulse.data_origin WHERE origin = 'real')          AS real_since,
  CASE
    WHEN EXISTS (SELECT 1 FROM pulse.data_origin WHERE origin = 'simulated') THEN 'simulated'
    WHEN EXISTS (SELECT 1 FROM pulse.data_origin WHERE origin = 'real')      THEN 'real'
    ELSE 'none'
  END                                                                     AS origin;
COMMENT ON VIEW kpi.data_origin IS
  'Whether this database has received simulated data (the built-in simulator: ingester demo, run --simulate). '
  'origin = simulated | real | none; simulated wins, because one simulated row makes every KPI untrustworthy.';
COMMENT ON COLUMN kpi.data_origin.simulated IS 'True once the built-in simulator has written into this database.';
COMMENT ON COLUMN kpi.data_origin.simulated_since IS 'First run of the simulator against this database (NULL: never).';
COMMENT ON COLUMN kpi.data_origin.simulated_last_run IS 'Latest run of the simulator against this database (NULL: never).';
COMMENT ON COLUMN kpi.data_origin.real IS 'True once a real Mastodon channel has been ingested into this database.';
COMMENT ON COLUMN kpi.data_origin.real_since IS 'First real run against this database (NULL: never).';
COMMENT ON COLUMN kpi.data_origin.origin IS 'simulated | real | none (simulated wins: one simulated row spoils every KPI).';
