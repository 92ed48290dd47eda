-- 014_data_origin: where this database's data came from — the built-in simulator or a real Mastodon
-- server. The ingester records its origin before writing anything; a database that has received
-- simulated data says so (kpi.data_origin, shown on the boards), and a run of the other origin refuses
-- it unless told explicitly (PULSE_ACCEPT_SIMULATED_DATA=true), so simulated rows never mix silently
-- with a city's real ones.
CREATE TABLE pulse.data_origin (
  origin   text PRIMARY KEY CHECK (origin IN ('simulated', 'real')),
  first_at timestamptz NOT NULL DEFAULT now(),
  last_at  timestamptz NOT NULL DEFAULT now(),
  runs     bigint NOT NULL DEFAULT 1 CHECK (runs >= 1)
);
COMMENT ON TABLE pulse.data_origin IS
  'One row per origin that has written into this database (simulated | real), with first and last run.';
