-- 20_roles: the three cluster-wide NOLOGIN roles. Re-runnable.
--
-- Roles belong to the cluster, not the database, and several databases on one cluster may migrate at
-- the same time: a concurrent CREATE ROLE fails with duplicate_object (already committed) or
-- unique_violation (committed while we waited), and both mean "it exists", which is all we need.
-- Grants are per database: see 40_grants.sql.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['pulse_writer', 'pulse_reader', 'pulse_analyst'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END $$;
