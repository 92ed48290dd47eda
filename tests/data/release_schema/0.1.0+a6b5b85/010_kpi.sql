-- 010_kpi: storage the KPI layer needs. Run once.
--
-- * pulse.formats: the hashtag -> format map (written by `ingester migrate` from PULSE_FORMATS through
--   ingester/formats.py `apply_formats`; the defaults below match formats.DEFAULT_FORMATS).
-- * indexes for the KPI queries that 001_base does not have.

CREATE TABLE pulse.formats (
  tag         text    PRIMARY KEY CHECK (tag = lower(tag) AND tag <> ''),  -- lower-case, without '#'
  format      text    NOT NULL CHECK (format ~ '^[a-z][a-z0-9_]{0,62}$'),
  precedence  integer NOT NULL UNIQUE      -- a post with several mapped tags takes the lowest
);
INSERT INTO pulse.formats (tag, format, precedence) VALUES
  ('innovatorspotlight', 'innovator_spotlight', 1),
  ('qena',               'qa',                  2),
  ('qanda',              'qa',                  3),
  ('ama',                'qa',                  4),
  ('vraagvandegemeente', 'city_question',       5);

-- The channel's own statuses are few among millions of replies and favourites; every KPI joins
-- engagements to them, so find them without scanning.
CREATE INDEX statuses_own_idx ON pulse.statuses (channel, status_id) WHERE relation = 'own_post';
-- Quotes of a post (post_stats.quotes).
CREATE INDEX statuses_quoted_idx ON pulse.statuses (channel, quoted_id) WHERE quoted_id IS NOT NULL;

-- Time-range scans (kpi.summary, kpi.activity(), export). Hypertables already have a time index
-- (create_hypertable's default); plain PostgreSQL needs one.
DO $$
BEGIN
  IF pulse.tier() = 'postgres' THEN
    CREATE INDEX statuses_created_idx ON pulse.statuses (created_at);
    CREATE INDEX interactions_occurred_idx ON pulse.interactions (occurred_at);
  END IF;
END $$;
