-- 025_account_set_prefixes: two derived forms of the account sets (020) that the board questions read
-- most, so that a range costs a few rows instead of one per format and per day since the beginning.
-- Run once.
--
-- * pulse.rollup_accounts_all: per channel x hour / day, the accounts of every format together (the
--   OR of the format sets) -- "every format" is what the boards ask unless a format is chosen.
-- * pulse.rollup_seen: per channel x format ('*' = every format) and local month start, the accounts
--   seen BEFORE that month. "Returning" asks who was seen before a moment: the latest of these
--   prefixes plus the days since, instead of every day set since the first one.
-- Both are kept by a trigger on pulse.rollup_accounts (views/29_account_sets.sql). A prefix that a
-- removal might have made too large is deleted, not corrected: reads then use the day sets (exact,
-- slower) until `pulse.rollup_seen_advance()` (run by the retention job and by migrate) makes it again.

CREATE TABLE pulse.rollup_accounts_all (
  grain       text        NOT NULL CHECK (grain IN ('1h', '1d')),
  bucket      timestamptz NOT NULL,
  channel     text        NOT NULL,
  accounts    bit varying NOT NULL,
  n           integer     NOT NULL,      -- bit_count(accounts)
  PRIMARY KEY (grain, bucket, channel)
);

CREATE TABLE pulse.rollup_seen (
  channel     text        NOT NULL,
  format      text        NOT NULL,      -- as pulse.rollup_accounts.format, or '*' for every format
  before      timestamptz NOT NULL,      -- a local month start
  accounts    bit varying NOT NULL,
  n           integer     NOT NULL,
  PRIMARY KEY (channel, format, before)
);

INSERT INTO pulse.config (key, value) VALUES ('account_sets_rebuild_pending', 'true')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- Every set is rewritten whole whenever it gains an account: with the default pglz a 25 kB bitmap
-- costs ~400 us to compress, with lz4 ~40 us (and reads faster; measured on this project's bench
-- world, 2,000 hourly sets). Where the server has no lz4 (a build without it), pglz stays.
DO $$
BEGIN
  ALTER TABLE pulse.rollup_accounts ALTER COLUMN accounts SET COMPRESSION lz4;
  ALTER TABLE pulse.rollup_accounts_all ALTER COLUMN accounts SET COMPRESSION lz4;
  ALTER TABLE pulse.rollup_seen ALTER COLUMN accounts SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'no lz4 in this server: account sets stay compressed with pglz';
END $$;
