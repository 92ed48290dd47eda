-- 024_live_rollups: what the *Ingester health* board reads over long ranges. Run once.
--
-- The Live board graphs engagements per bucket, the health board events written per bucket (by
-- ingestion time) and the heartbeats' figures per bucket. Over 90 days that was a scan of every event
-- (there is no index on ingested_at, and one would cost every write) and of ~500 k heartbeats per
-- channel. These small tables hold the same figures per minute / hour, kept exact by triggers in the
-- writer's transaction (views/28_live_rollups.sql):
--
-- * pulse.engagement_hours: engagements (as kpi.engagements) per channel x UTC hour, per kind. The
--   hourly rollups of 020 are per post too (30-odd rows per hour on a busy channel, 80 k over 90
--   days); a graph of the whole channel needs one row per hour.
-- * pulse.ingest_counts: rows written per channel x UTC minute ('1m') / UTC hour ('1h') of
--   ingested_at x kind (pulse.statuses.relation, pulse.interactions.kind). A deleted row is taken
--   away again, a status whose relation changes moves between kinds: the counts are always those of
--   the rows stored, as a count over the tables would give.
-- * pulse.heartbeat_hours: per channel x UTC hour, what the heartbeat panels aggregate (count, sum
--   and max of lag_seconds, min of stream_connected, max of spool_depth, min of ratelimit_remaining),
--   and for the counters (catch-up runs, pages, reconnects) the increases between consecutive
--   heartbeats inside the hour plus the hour's first and last readings, so that the increase across
--   an hour boundary is computed when reading, from the neighbouring bucket.
--
-- Both are filled from the stored rows by views/28_live_rollups.sql when the flag below is set.

CREATE TABLE pulse.engagement_hours (
  hour        timestamptz NOT NULL,       -- start of the UTC hour of occurred_at
  channel     text        NOT NULL,
  replies     bigint      NOT NULL,
  mentions    bigint      NOT NULL,
  quotes      bigint      NOT NULL,
  favourites  bigint      NOT NULL,
  reblogs     bigint      NOT NULL,
  follows     bigint      NOT NULL,
  PRIMARY KEY (hour, channel)             -- hour first: ranges over every channel
);

CREATE TABLE pulse.ingest_counts (
  grain    text        NOT NULL CHECK (grain IN ('1m', '1h')),
  bucket   timestamptz NOT NULL,      -- start of the UTC minute / hour of ingested_at
  channel  text        NOT NULL,
  kind     text        NOT NULL,      -- statuses.relation or interactions.kind
  events   bigint      NOT NULL,
  PRIMARY KEY (grain, bucket, channel, kind)   -- bucket before channel: ranges over every channel
);

CREATE TABLE pulse.heartbeat_hours (
  channel           text             NOT NULL,
  hour              timestamptz      NOT NULL,  -- start of the UTC hour of heartbeats.at
  beats             integer          NOT NULL,  -- heartbeats in the hour
  lag_n             integer          NOT NULL,  -- of them with a lag_seconds
  lag_sum           double precision,
  lag_max           double precision,
  connected_min     integer          NOT NULL,  -- 0 when the stream was down at any heartbeat
  spool_max         integer          NOT NULL,
  ratelimit_min     integer,
  first_at          timestamptz      NOT NULL,  -- the hour's first heartbeat and its counters
  first_runs        bigint           NOT NULL,
  first_pages       bigint           NOT NULL,
  first_reconnects  bigint           NOT NULL,
  last_at           timestamptz      NOT NULL,  -- the hour's last heartbeat and its counters
  last_runs         bigint           NOT NULL,
  last_pages        bigint           NOT NULL,
  last_reconnects   bigint           NOT NULL,
  inner_runs        bigint           NOT NULL,  -- increases between consecutive heartbeats of the hour
  inner_pages       bigint           NOT NULL,
  inner_reconnects  bigint           NOT NULL,
  PRIMARY KEY (channel, hour)
);

INSERT INTO pulse.config (key, value) VALUES ('live_rollups_rebuild_pending', 'true')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- The account sets of 020_rollups.sql compressed with lz4 where the server has it (PostgreSQL built
-- with lz4, as the usual packages are): a distinct count over 90 days decompresses ~1,000 sets of
-- ~25 kB, and lz4 does that about four times faster than the default pglz (kpi.participants over 90
-- days on bench/kpi_world.py's 5 M engagements: ~85 -> ~40 ms); it also compresses a set faster when
-- a write rewrites it. Existing sets are rewritten so that they are recompressed (an UPDATE that
-- changes nothing would keep their old compression). Writers wait for the statuses lock first
-- (schema/README.md: the order the sink takes its tables in).
DO $$
BEGIN
  ALTER TABLE pulse.rollup_accounts ALTER COLUMN accounts SET COMPRESSION lz4;
  LOCK TABLE pulse.statuses, pulse.interactions IN SHARE ROW EXCLUSIVE MODE;
  UPDATE pulse.rollup_accounts SET accounts = accounts || B'';
EXCEPTION WHEN feature_not_supported THEN
  NULL;  -- built without lz4: the sets stay as they are
END $$;
