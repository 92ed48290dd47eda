-- 40_grants: what each role may do in this database. Re-runnable (roles: 20_roles.sql).
--
--   pulse_writer   the ingester: reads and writes the event store (schema pulse)
--   pulse_reader   Grafana and the team: everything in pulse and kpi, including handles and text
--   pulse_analyst  data staff: only the pseudonymous kpi views and functions; no pulse.*, no
--                  handles, no text (kpi.unanswered and kpi.replies_live are withheld)
-- Views run with their owner's rights, so analysts read pulse.* only through the kpi views; the kpi
-- functions are SECURITY DEFINER for the same reason.

GRANT USAGE ON SCHEMA pulse TO pulse_writer, pulse_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pulse TO pulse_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA pulse TO pulse_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA pulse TO pulse_reader;

GRANT USAGE ON SCHEMA kpi TO pulse_reader, pulse_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO pulse_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kpi TO pulse_reader;

-- Analysts: an explicit allow-list, so a new kpi view is private until someone decides otherwise.
REVOKE ALL ON ALL TABLES IN SCHEMA kpi FROM pulse_analyst;
REVOKE ALL ON SCHEMA pulse FROM pulse_analyst;
GRANT SELECT ON kpi.engagements, kpi.posts, kpi.post_stats, kpi.activity_hourly, kpi.activity_daily,
                kpi.account_daily, kpi.response_times
   TO pulse_analyst;
GRANT SELECT ON kpi.sessions TO pulse_analyst;  -- per-session numbers (37_sessions.sql): pseudonymous
-- The entry-route funnel (36_entry.sql): counts per day and source, nothing about anyone.
GRANT SELECT ON kpi.entry_daily TO pulse_analyst;
-- TimescaleDB's background jobs and how far each aggregate lags (38_background_jobs.sql): nothing
-- about anyone, and data staff should see when the aggregates they read stopped refreshing.
GRANT SELECT ON kpi.background_jobs TO pulse_analyst;
REVOKE ALL ON FUNCTION kpi.activity(timestamptz, timestamptz, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kpi.summary(timestamptz, timestamptz, text, text),
                          kpi.accounts_daily(timestamptz, timestamptz, text, text),
                          kpi.activity(timestamptz, timestamptz, text, text)
   TO pulse_reader, pulse_analyst;

-- Tables created later by the migrating role (new migrations) follow the same rules.
ALTER DEFAULT PRIVILEGES IN SCHEMA pulse GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO pulse_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA pulse GRANT SELECT ON TABLES TO pulse_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA kpi GRANT SELECT ON TABLES TO pulse_reader;

-- Dashboards run many short queries whose lateral per-post parts are costed high; JIT compilation
-- then adds ~1 s to a query that needs tens of milliseconds. Off for this database (new sessions),
-- when the migrating role owns it; otherwise leave it to the DBA.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'not the database owner: leaving jit as it is';
END $$;
