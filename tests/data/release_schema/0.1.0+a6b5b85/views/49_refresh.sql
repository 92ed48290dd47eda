-- pulse:no-transaction
-- 49_refresh: materialise the continuous aggregates once after 30_activity_base.sql (re)built them
-- (first migrate on full TimescaleDB, or the configured timezone changed). A no-op otherwise and
-- below full TimescaleDB. Exactly one statement: a multi-statement script runs as one implicit
-- transaction, and refresh_continuous_aggregate refuses to run inside a transaction.
CALL pulse.refresh_pending_aggregates();
