-- 020_rollups: the structures the boards read instead of the events. Run once.
--
-- Every board asks "how much engagement per channel, bucket and format" and "how many distinct,
-- new and returning accounts". Answering that from the events costs time proportional to the
-- events (seconds for a quarter of a busy channel); these tables make it proportional to the
-- number of buckets. They are kept exact by triggers in the same transaction as the events
-- (views/23_rollups.sql), so a committed event is in its rollup.
--
-- * pulse.rollup_counts: engagement counts per channel x bucket (UTC hour, local day) x post.
--   Keyed by the post the engagement is about, not by its format: a post's format can change
--   (edited hashtags, a new format map) without moving any count; the format is attached when
--   reading, from pulse.rollup_post_format. On full TimescaleDB continuous aggregates hold these
--   counts instead (views/30_activity_base.sql) and this table stays empty.
-- * pulse.account_numbers: a dense number per pseudonymous account key, the bit position in the
--   account sets. Numbers are never reused; a purged account keeps its number (the number says
--   nothing about the person, and its engagements stay counted, as before).
-- * pulse.rollup_accounts: per channel x bucket x format, the SET of accounts that engaged, as a
--   bitmap (bit n = account number n) with its popcount. Distinct accounts over any range are the
--   popcount of the OR of the range's sets; returning accounts the popcount of (range AND before).
--   Exact, unlike a sketch, and the work grows with the number of buckets, not events.
-- * pulse.rollup_post_format: the format under which the engagements about each post are in the
--   account sets ('' = no known format). When a post's format changes, its engagements' accounts
--   move between sets and this row follows.
--
-- The tables are filled from the stored events by views/23_rollups.sql when the flag below is set
-- (the first migrate after an upgrade), with progress shown to the operator.

CREATE TABLE pulse.account_numbers (
  account_key  text    PRIMARY KEY,
  account_no   integer GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START WITH 0) UNIQUE
);

CREATE TABLE pulse.rollup_counts (
  grain       text        NOT NULL CHECK (grain IN ('1h', '1d')),
  channel     text        NOT NULL,
  bucket      timestamptz NOT NULL,
  post_ref    text        NOT NULL,      -- '' when the engagement is about no post (follows, mentions)
  replies     bigint      NOT NULL DEFAULT 0,
  mentions    bigint      NOT NULL DEFAULT 0,
  quotes      bigint      NOT NULL DEFAULT 0,
  favourites  bigint      NOT NULL DEFAULT 0,
  reblogs     bigint      NOT NULL DEFAULT 0,
  follows     bigint      NOT NULL DEFAULT 0,
  PRIMARY KEY (grain, bucket, channel, post_ref)   -- bucket before channel: ranges over every channel
);
-- kpi.post_stats sums a post's counts over its buckets
CREATE INDEX rollup_counts_post_idx ON pulse.rollup_counts (channel, post_ref) WHERE grain = '1d';

CREATE TABLE pulse.rollup_accounts (
  grain       text        NOT NULL CHECK (grain IN ('1h', '1d')),
  channel     text        NOT NULL,
  bucket      timestamptz NOT NULL,
  format      text        NOT NULL,      -- '' = engagements about no post of known format
  accounts    bit varying NOT NULL,
  n           integer     NOT NULL,      -- bit_count(accounts)
  PRIMARY KEY (grain, bucket, channel, format)     -- bucket before channel: ranges over every channel
);

CREATE TABLE pulse.rollup_post_format (
  channel     text NOT NULL,
  post_ref    text NOT NULL,
  format      text NOT NULL,
  PRIMARY KEY (channel, post_ref)
);

INSERT INTO pulse.config (key, value) VALUES ('rollups_rebuild_pending', 'true')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
