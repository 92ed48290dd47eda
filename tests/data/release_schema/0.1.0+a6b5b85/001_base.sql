-- 001_base: the event store. Run once. Tables live in schema `pulse` (private to the ingester and
-- the reader role); the public contract for data staff and Grafana lives in schema `kpi` (views/).
--
-- Tier rule: every event table has the same columns on all three tiers. Where TimescaleDB exists
-- (Apache or full licence) it becomes a hypertable on its time column; on plain PostgreSQL it is an
-- ordinary table with the same indexes. Unique keys include the time column because hypertables
-- require it; the time of a Mastodon object never changes, so (id, time) is as unique as id.

CREATE SCHEMA IF NOT EXISTS pulse;
CREATE SCHEMA IF NOT EXISTS kpi;

-- Which database we are on: 'timescale' (full TimescaleDB), 'apache' (Apache-only build) or 'postgres'.
CREATE OR REPLACE FUNCTION pulse.tier() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN 'postgres'
    WHEN current_setting('timescaledb.license', true) = 'timescale' THEN 'timescale'
    ELSE 'apache'
  END
$$;

-- Turn a table into a hypertable where TimescaleDB exists; a no-op on plain PostgreSQL.
CREATE OR REPLACE FUNCTION pulse.make_hypertable(tbl regclass, time_column name, chunk interval)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF pulse.tier() <> 'postgres' THEN
    PERFORM create_hypertable(tbl, time_column, chunk_time_interval => chunk, if_not_exists => true);
  END IF;
END $$;

-- Settings the SQL layer needs (the timezone for daily buckets); written by `ingester migrate`.
CREATE TABLE pulse.config (
  key   text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO pulse.config (key, value) VALUES ('timezone', 'Europe/Amsterdam');

-- The city accounts we collect for. `channel` is the configured name recorded on every row.
CREATE TABLE pulse.channels (
  channel      text PRIMARY KEY,
  account_id   text NOT NULL,          -- Mastodon id of the channel account on its own server
  account_key  text NOT NULL,          -- pseudonymous key of the channel account itself
  acct         text NOT NULL,
  base_url     text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Identifying data about accounts, separate from the events so that analysts never see it.
CREATE TABLE pulse.accounts (
  account_key   text PRIMARY KEY,      -- hex HMAC-SHA256(account URI, PULSE_ACCOUNT_SALT)
  acct          text,                  -- handle; NULL once purged (account suspended/deleted)
  url           text,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  purged_at     timestamptz
);

-- Statuses: the channel's own posts and answers, and other accounts' replies, mentions, quotes.
CREATE TABLE pulse.statuses (
  channel                text        NOT NULL,
  status_id              text        NOT NULL,
  created_at             timestamptz NOT NULL,
  relation               text        NOT NULL
    CHECK (relation IN ('own_post', 'reply', 'quote', 'mention', 'other')),
  account_key            text        NOT NULL,
  in_reply_to_id         text,
  in_reply_to_account_id text,
  quoted_id              text,
  mentions_channel       boolean     NOT NULL DEFAULT false,
  thread_root_id         text,       -- the channel's top-level post this status hangs under (sink resolves)
  url                    text,
  tags                   text[]      NOT NULL DEFAULT '{}',
  content                text,       -- NULL once purged (delete, retention, account gone)
  language               text,
  visibility             text,
  edited_at              timestamptz,
  text_purged_at         timestamptz,
  source                 text        NOT NULL,
  ingested_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, status_id, created_at)
);
SELECT pulse.make_hypertable('pulse.statuses', 'created_at', interval '7 days');
CREATE INDEX statuses_id_idx          ON pulse.statuses (status_id);
CREATE INDEX statuses_reply_to_idx    ON pulse.statuses (channel, in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
CREATE INDEX statuses_thread_idx      ON pulse.statuses (channel, thread_root_id, created_at) WHERE thread_root_id IS NOT NULL;
CREATE INDEX statuses_account_idx     ON pulse.statuses (account_key, created_at);

-- Favourites, boosts and follows: known only from notifications, keyed on the notification id.
CREATE TABLE pulse.interactions (
  channel          text        NOT NULL,
  notification_id  text        NOT NULL,
  occurred_at      timestamptz NOT NULL,
  kind             text        NOT NULL CHECK (kind IN ('favourite', 'reblog', 'follow')),
  status_id        text,       -- the channel's status; NULL for follow
  account_key      text        NOT NULL,
  source           text        NOT NULL,
  ingested_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, notification_id, occurred_at)
);
SELECT pulse.make_hypertable('pulse.interactions', 'occurred_at', interval '7 days');
CREATE INDEX interactions_status_idx  ON pulse.interactions (channel, status_id, occurred_at) WHERE status_id IS NOT NULL;
CREATE INDEX interactions_account_idx ON pulse.interactions (account_key, occurred_at);

-- Edits, one row per version seen (the text itself lives only in pulse.statuses).
CREATE TABLE pulse.edits (
  channel      text        NOT NULL,
  status_id    text        NOT NULL,
  edited_at    timestamptz NOT NULL,
  source       text        NOT NULL,
  ingested_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, status_id, edited_at)
);
SELECT pulse.make_hypertable('pulse.edits', 'edited_at', interval '30 days');

-- Deleted statuses. A tombstone stops a late copy (REST page fetched before the delete) from
-- bringing a deleted status back; it holds no text.
CREATE TABLE pulse.tombstones (
  channel      text        NOT NULL,
  status_id    text        NOT NULL,
  deleted_at   timestamptz NOT NULL,
  source       text        NOT NULL,
  PRIMARY KEY (channel, status_id)
);

-- Counters of the channel's posts as re-read over REST (favourites_count, ...), one row per poll.
-- Un-favourites and un-boosts emit no event at all; these snapshots keep counts right when they happen.
CREATE TABLE pulse.post_snapshots (
  channel       text        NOT NULL,
  post_id       text        NOT NULL,
  observed_at   timestamptz NOT NULL,
  replies       integer     NOT NULL,
  favourites    integer     NOT NULL,
  reblogs       integer     NOT NULL,
  quotes        integer     NOT NULL,
  PRIMARY KEY (channel, post_id, observed_at)
);
SELECT pulse.make_hypertable('pulse.post_snapshots', 'observed_at', interval '7 days');

-- The ingester's own state, written every few seconds per channel: for the health board and alerts.
CREATE TABLE pulse.heartbeats (
  channel              text        NOT NULL,
  at                   timestamptz NOT NULL,
  stream_connected     boolean     NOT NULL,
  last_frame_at        timestamptz,          -- last frame or ping from the streaming server
  last_event_at        timestamptz,          -- occurred_at of the newest event written
  lag_seconds          double precision,     -- ingested_at - occurred_at of recent events (p50 over the interval)
  events_total         bigint      NOT NULL DEFAULT 0,  -- counters since process start
  reconnects_total     bigint      NOT NULL DEFAULT 0,
  catchup_runs_total   bigint      NOT NULL DEFAULT 0,
  catchup_pages_total  bigint      NOT NULL DEFAULT 0,
  dead_letters_total   bigint      NOT NULL DEFAULT 0,
  spool_depth          integer     NOT NULL DEFAULT 0,
  ratelimit_remaining  integer,
  PRIMARY KEY (channel, at)
);
SELECT pulse.make_hypertable('pulse.heartbeats', 'at', interval '1 day');

-- Inputs that could not be normalised, with the reason; kept for inspection, never for KPIs.
CREATE TABLE pulse.dead_letters (
  id           bigint GENERATED ALWAYS AS IDENTITY,
  channel      text        NOT NULL,
  received_at  timestamptz NOT NULL,
  source       text        NOT NULL,
  reason       text        NOT NULL,
  payload      text        NOT NULL,
  PRIMARY KEY (id)
);
CREATE INDEX dead_letters_received_idx ON pulse.dead_letters (received_at);

-- Durable REST cursors (newest notification id processed, newest own status id, ...), written in
-- the same transaction as the rows they cover.
CREATE TABLE pulse.cursors (
  channel     text NOT NULL,
  name        text NOT NULL,
  value       text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, name)
);

-- Mastodon ids are snowflake-like decimal strings; compare them numerically, not as text.
CREATE OR REPLACE FUNCTION pulse.id_num(id text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN id ~ '^[0-9]{1,38}$' THEN id::numeric END $$;
