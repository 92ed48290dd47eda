-- 030_retention: indexes that let pulse.apply_retention (views/50_retention.sql) find what is due
-- without scanning the event tables. Partial indexes: they hold only the rows retention may touch,
-- so they stay small (residents' statuses whose text is not purged yet; 'other' statuses not placed
-- in a thread).

CREATE INDEX IF NOT EXISTS statuses_text_due_idx
    ON pulse.statuses (created_at)
 WHERE text_purged_at IS NULL AND relation <> 'own_post';

CREATE INDEX IF NOT EXISTS statuses_other_due_idx
    ON pulse.statuses (created_at)
 WHERE relation = 'other' AND thread_root_id IS NULL;

-- Heartbeats are deleted by time across all channels. On TimescaleDB create_hypertable already made
-- an index on `at` (and chunk exclusion does the rest); on plain PostgreSQL the primary key starts
-- with `channel`, so add one.
DO $$
BEGIN
  IF pulse.tier() = 'postgres' THEN
    CREATE INDEX IF NOT EXISTS heartbeats_at_only_idx ON pulse.heartbeats (at);
  END IF;
END $$;
