-- 28_live_rollups: the live boards over any range. Re-runnable.
--
-- The *Live Q&A* board's channel panels and the *Ingester health* board group by Grafana's
-- $__interval (at least a minute): a minute over the default 3 or 6 hours, hours over 90 days.
-- The functions below answer those buckets from rollups where a bucket is whole hours, and from the
-- rows themselves only for what the rollups cannot hold (partial hours at the range's edges, buckets
-- shorter than an hour):
--
--   kpi.engagement_series   engagements per bucket and kind   pulse.engagement_hours (024_live_rollups);
--                                                             one bucket for the whole range: the daily
--                                                             and hourly rollups (30_activity_base)
--   kpi.participants        distinct accounts, follows out    pulse.rollup_accounts (23_rollups)
--   pulse.ingest_series     rows written per bucket and kind  pulse.ingest_counts (024_live_rollups)
--   pulse.heartbeat_series  the heartbeat panels' figures     pulse.heartbeat_hours (024_live_rollups)
--
-- Buckets are those of Grafana's $__timeGroup: multiples of the bucket width since the UNIX epoch
-- (UTC), so a bucket of whole hours is made of whole UTC hours. Each function gives exactly what
-- its definition over the stored rows gives (tests/test_live_rollups.py; bench/raw_kpi.sql holds the
-- kpi ones computed straight from the events).
--
-- pulse.engagement_hours, pulse.ingest_counts and pulse.heartbeat_hours are kept here, by triggers in
-- the writer's transaction: a statement-level trigger per INSERT (one upsert per hour, minute, kind
-- and channel of the batch, not per row), row-level ones only when what a row counts as changes
-- (relation, thread, kind), and for deletes the same split as 24_rollup_triggers.sql (TimescaleDB
-- refuses transition tables for a DELETE on compressed chunks).

-- ---- helpers ------------------------------------------------------------------------------------
-- The numbers of the set bits of an account set (23_rollups.sql: bit n = account number n). Skips
-- empty 8,192-bit blocks and 64-bit words, so a sparse set costs little whatever its length.
CREATE OR REPLACE FUNCTION pulse.bits_positions(b bit varying) RETURNS SETOF integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  blk integer;
  w integer;
  i integer;
  chunk bit varying;
  word bit varying;
BEGIN
  IF b IS NULL OR bit_count(b) = 0 THEN
    RETURN;
  END IF;
  FOR blk IN 0 .. (length(b) - 1) / 8192 LOOP
    chunk := substring(b FROM blk * 8192 + 1 FOR 8192);
    CONTINUE WHEN bit_count(chunk) = 0;
    FOR w IN 0 .. (length(chunk) - 1) / 64 LOOP
      word := substring(chunk FROM w * 64 + 1 FOR 64);
      CONTINUE WHEN bit_count(word) = 0;
      FOR i IN 0 .. length(word) - 1 LOOP
        IF get_bit(word, i) = 1 THEN
          RETURN NEXT blk * 8192 + w * 64 + i;
        END IF;
      END LOOP;
    END LOOP;
  END LOOP;
END $$;

-- The start of the bucket of width `secs` seconds holding `at`: Grafana's $__timeGroup,
-- floor(extract(epoch from at)/secs)*secs, as a timestamptz. date_bin counts in whole microseconds
-- (exact, and several times faster than the numeric arithmetic of extract()).
CREATE OR REPLACE FUNCTION pulse.epoch_bucket(at timestamptz, secs numeric) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_bin(secs * interval '1 second', at, timestamptz '1970-01-01 00:00:00+00')
$$;

-- A board's bucket width in seconds: Grafana's $__interval, never under a minute (the panels are
-- about minutes; a shorter $__interval would only split minutes).
CREATE OR REPLACE FUNCTION pulse.bucket_seconds(bucket interval) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT greatest(coalesce(extract(epoch FROM bucket), 60), 60)
$$;

CREATE OR REPLACE FUNCTION pulse.hour_floor(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;

CREATE OR REPLACE FUNCTION pulse.hour_ceil(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN pulse.hour_floor(at) = at THEN at ELSE pulse.hour_floor(at) + interval '1 hour' END
$$;

-- ---- engagements per channel and hour: maintenance ------------------------------------------------
-- Engagements added (sign 1) or taken away (sign -1); kinds as kpi.engagements'.
CREATE OR REPLACE FUNCTION pulse.engagement_hours_count(p_channel text[], p_at timestamptz[], p_kind text[],
                                                        p_sign integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO pulse.engagement_hours AS h (hour, channel, replies, mentions, quotes, favourites, reblogs, follows)
  SELECT pulse.hour_floor(u.t), u.c,
         p_sign * count(*) FILTER (WHERE u.k = 'reply'), p_sign * count(*) FILTER (WHERE u.k = 'mention'),
         p_sign * count(*) FILTER (WHERE u.k = 'quote'), p_sign * count(*) FILTER (WHERE u.k = 'favourite'),
         p_sign * count(*) FILTER (WHERE u.k = 'reblog'), p_sign * count(*) FILTER (WHERE u.k = 'follow')
    FROM unnest(p_channel, p_at, p_kind) AS u(c, t, k)
   GROUP BY 1, 2
   ORDER BY 1, 2                -- one lock order for concurrent writers
  ON CONFLICT (hour, channel) DO UPDATE SET
    replies = h.replies + excluded.replies, mentions = h.mentions + excluded.mentions,
    quotes = h.quotes + excluded.quotes, favourites = h.favourites + excluded.favourites,
    reblogs = h.reblogs + excluded.reblogs, follows = h.follows + excluded.follows;
  IF p_sign < 0 THEN
    DELETE FROM pulse.engagement_hours h
     USING (SELECT DISTINCT pulse.hour_floor(u.t) AS hour, u.c FROM unnest(p_channel, p_at) AS u(c, t)) x
     WHERE h.hour = x.hour AND h.channel = x.c
       AND h.replies = 0 AND h.mentions = 0 AND h.quotes = 0 AND h.favourites = 0 AND h.reblogs = 0
       AND h.follows = 0;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION pulse.engagement_hours_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM pulse.engagement_hours;
  INSERT INTO pulse.engagement_hours (hour, channel, replies, mentions, quotes, favourites, reblogs, follows)
  SELECT x.hour, x.channel, sum(x.replies), sum(x.mentions), sum(x.quotes), sum(x.favourites), sum(x.reblogs),
         sum(x.follows)
    FROM (SELECT pulse.hour_floor(s.created_at) AS hour, s.channel,
                 count(*) FILTER (WHERE pulse.engagement_kind(s.relation, s.thread_root_id) = 'reply') AS replies,
                 count(*) FILTER (WHERE pulse.engagement_kind(s.relation, s.thread_root_id) = 'mention') AS mentions,
                 count(*) FILTER (WHERE pulse.engagement_kind(s.relation, s.thread_root_id) = 'quote') AS quotes,
                 0 AS favourites, 0 AS reblogs, 0 AS follows
            FROM pulse.statuses s
           WHERE pulse.is_engagement(s.relation, s.thread_root_id)
           GROUP BY 1, 2
          UNION ALL
          SELECT pulse.hour_floor(i.occurred_at), i.channel, 0, 0, 0, count(*) FILTER (WHERE i.kind = 'favourite'),
                 count(*) FILTER (WHERE i.kind = 'reblog'), count(*) FILTER (WHERE i.kind = 'follow')
            FROM pulse.interactions i
           GROUP BY 1, 2) x
   GROUP BY 1, 2;
END $$;

-- ---- rows written per minute and hour: maintenance ------------------------------------------------
-- Rows added (sign 1) or taken away (sign -1), per UTC minute and hour of ingested_at and kind.
CREATE OR REPLACE FUNCTION pulse.ingest_count(p_channel text[], p_at timestamptz[], p_kind text[],
                                              p_sign integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO pulse.ingest_counts AS c (grain, bucket, channel, kind, events)
  SELECT g.grain, date_trunc(g.unit, u.t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', u.c, u.k, p_sign * count(*)
    FROM unnest(p_channel, p_at, p_kind) AS u(c, t, k)
   CROSS JOIN (VALUES ('1m', 'minute'), ('1h', 'hour')) AS g(grain, unit)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4          -- one lock order for concurrent writers
  ON CONFLICT (grain, bucket, channel, kind) DO UPDATE SET events = c.events + excluded.events;
  IF p_sign < 0 THEN
    DELETE FROM pulse.ingest_counts c
     USING (SELECT DISTINCT g.grain, date_trunc(g.unit, u.t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS b, u.c, u.k
              FROM unnest(p_channel, p_at, p_kind) AS u(c, t, k)
             CROSS JOIN (VALUES ('1m', 'minute'), ('1h', 'hour')) AS g(grain, unit)) x
     WHERE c.grain = x.grain AND c.bucket = x.b AND c.channel = x.c AND c.kind = x.k AND c.events = 0;
  END IF;
END $$;

-- Statement-level: straight from the transition table (no arrays to build and unnest). A batch's
-- rows share one ingested_at (now()): usually one row per kind and grain to upsert.
CREATE OR REPLACE FUNCTION pulse.ingest_statuses_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- (one statement for both tables: half the per-statement cost of two)
  WITH ingested AS (
    INSERT INTO pulse.ingest_counts AS c (grain, bucket, channel, kind, events)
    SELECT g.grain, date_trunc(g.unit, n.ingested_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', n.channel, n.relation,
           count(*)
      FROM new_rows n CROSS JOIN (VALUES ('1m', 'minute'), ('1h', 'hour')) AS g(grain, unit)
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 2, 3, 4        -- one lock order for concurrent writers
    ON CONFLICT (grain, bucket, channel, kind) DO UPDATE SET events = c.events + excluded.events
  )
  INSERT INTO pulse.engagement_hours AS h (hour, channel, replies, mentions, quotes, favourites, reblogs, follows)
  SELECT pulse.hour_floor(n.created_at), n.channel,
         count(*) FILTER (WHERE pulse.engagement_kind(n.relation, n.thread_root_id) = 'reply'),
         count(*) FILTER (WHERE pulse.engagement_kind(n.relation, n.thread_root_id) = 'mention'),
         count(*) FILTER (WHERE pulse.engagement_kind(n.relation, n.thread_root_id) = 'quote'), 0, 0, 0
    FROM new_rows n
   WHERE pulse.is_engagement(n.relation, n.thread_root_id)
   GROUP BY 1, 2
   ORDER BY 1, 2
  ON CONFLICT (hour, channel) DO UPDATE SET
    replies = h.replies + excluded.replies, mentions = h.mentions + excluded.mentions, quotes = h.quotes + excluded.quotes;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.ingest_interactions_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  WITH ingested AS (
    INSERT INTO pulse.ingest_counts AS c (grain, bucket, channel, kind, events)
    SELECT g.grain, date_trunc(g.unit, n.ingested_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', n.channel, n.kind, count(*)
      FROM new_rows n CROSS JOIN (VALUES ('1m', 'minute'), ('1h', 'hour')) AS g(grain, unit)
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (grain, bucket, channel, kind) DO UPDATE SET events = c.events + excluded.events
  )
  INSERT INTO pulse.engagement_hours AS h (hour, channel, replies, mentions, quotes, favourites, reblogs, follows)
  SELECT pulse.hour_floor(n.occurred_at), n.channel, 0, 0, 0, count(*) FILTER (WHERE n.kind = 'favourite'),
         count(*) FILTER (WHERE n.kind = 'reblog'), count(*) FILTER (WHERE n.kind = 'follow')
    FROM new_rows n
   GROUP BY 1, 2
   ORDER BY 1, 2
  ON CONFLICT (hour, channel) DO UPDATE SET
    favourites = h.favourites + excluded.favourites, reblogs = h.reblogs + excluded.reblogs,
    follows = h.follows + excluded.follows;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.ingest_statuses_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.ingest_count(array_agg(o.channel), array_agg(o.ingested_at), array_agg(o.relation), -1)
     FROM old_rows o HAVING count(*) > 0;
  PERFORM pulse.engagement_hours_count(array_agg(o.channel), array_agg(o.created_at),
                                       array_agg(pulse.engagement_kind(o.relation, o.thread_root_id)), -1)
     FROM old_rows o WHERE pulse.is_engagement(o.relation, o.thread_root_id) HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.ingest_interactions_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.ingest_count(array_agg(o.channel), array_agg(o.ingested_at), array_agg(o.kind), -1)
     FROM old_rows o HAVING count(*) > 0;
  PERFORM pulse.engagement_hours_count(array_agg(o.channel), array_agg(o.occurred_at), array_agg(o.kind), -1)
     FROM old_rows o HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- Row-level: a DELETE on TimescaleDB, and on every tier an UPDATE that changes what is counted (the
-- sink upgrading a status's relation or placing it in a thread; the trigger's WHEN keeps every other
-- update free). The table comes as the trigger's argument: TimescaleDB fires row triggers on a
-- hypertable's chunks, whose names are their own, and a record has no field of the other table.
CREATE OR REPLACE FUNCTION pulse.live_rollups_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  old_kind text;     -- relation / kind: what the health board counts
  new_kind text;
  old_eng text;      -- the engagement kind, NULL when the row is no engagement
  new_eng text;
  old_at timestamptz;
  new_at timestamptz;
BEGIN
  IF TG_ARGV[0] = 'statuses' THEN
    old_kind := OLD.relation;
    old_at := OLD.created_at;
    old_eng := CASE WHEN pulse.is_engagement(OLD.relation, OLD.thread_root_id)
                    THEN pulse.engagement_kind(OLD.relation, OLD.thread_root_id) END;
    IF TG_OP = 'UPDATE' THEN
      new_kind := NEW.relation;
      new_at := NEW.created_at;
      new_eng := CASE WHEN pulse.is_engagement(NEW.relation, NEW.thread_root_id)
                      THEN pulse.engagement_kind(NEW.relation, NEW.thread_root_id) END;
    END IF;
  ELSE
    old_kind := OLD.kind;
    old_at := OLD.occurred_at;
    old_eng := OLD.kind;
    IF TG_OP = 'UPDATE' THEN
      new_kind := NEW.kind;
      new_at := NEW.occurred_at;
      new_eng := NEW.kind;
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN
    PERFORM pulse.ingest_count(ARRAY[OLD.channel], ARRAY[OLD.ingested_at], ARRAY[old_kind], -1);
    IF old_eng IS NOT NULL THEN
      PERFORM pulse.engagement_hours_count(ARRAY[OLD.channel], ARRAY[old_at], ARRAY[old_eng], -1);
    END IF;
    RETURN NULL;
  END IF;
  IF old_kind IS DISTINCT FROM new_kind OR OLD.channel IS DISTINCT FROM NEW.channel
     OR OLD.ingested_at IS DISTINCT FROM NEW.ingested_at THEN
    PERFORM pulse.ingest_count(ARRAY[OLD.channel], ARRAY[OLD.ingested_at], ARRAY[old_kind], -1);
    PERFORM pulse.ingest_count(ARRAY[NEW.channel], ARRAY[NEW.ingested_at], ARRAY[new_kind], 1);
  END IF;
  IF old_eng IS DISTINCT FROM new_eng OR old_at IS DISTINCT FROM new_at OR OLD.channel IS DISTINCT FROM NEW.channel THEN
    IF old_eng IS NOT NULL THEN
      PERFORM pulse.engagement_hours_count(ARRAY[OLD.channel], ARRAY[old_at], ARRAY[old_eng], -1);
    END IF;
    IF new_eng IS NOT NULL THEN
      PERFORM pulse.engagement_hours_count(ARRAY[NEW.channel], ARRAY[new_at], ARRAY[new_eng], 1);
    END IF;
  END IF;
  RETURN NULL;
END $$;

DROP FUNCTION IF EXISTS pulse.ingest_row();

-- UPDATEs of statuses (plain PostgreSQL, statement-level, on the transition tables the rollup triggers
-- of 24_rollup_triggers.sql have PostgreSQL keep anyway): the old rows counted out, the new ones in,
-- netted per bucket first, so that an update that changes nothing counted (a newer edit's text, a
-- purge) writes nothing, and a thread placement or relation upgrade costs one upsert per statement.
CREATE OR REPLACE FUNCTION pulse.live_statuses_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  r record;
BEGIN
  -- most updates change nothing counted here (every new row has its old row, alike in what counts):
  -- one anti-join of the transition tables, and done
  IF NOT EXISTS (SELECT 1 FROM new_rows n
                  WHERE NOT EXISTS (SELECT 1 FROM old_rows o
                                     WHERE o.channel = n.channel AND o.status_id = n.status_id
                                       AND o.created_at = n.created_at AND o.relation = n.relation
                                       AND o.ingested_at = n.ingested_at
                                       AND o.thread_root_id IS NOT DISTINCT FROM n.thread_root_id)) THEN
    RETURN NULL;
  END IF;
  SELECT array_agg(x.grain) AS grain, array_agg(x.bucket) AS bucket, array_agg(x.channel) AS channel,
         array_agg(x.kind) AS kind, array_agg(x.delta) AS delta
    INTO r
    FROM (SELECT g.grain, date_trunc(g.unit, u.t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, u.channel,
                 u.relation AS kind, sum(u.sign) AS delta
            FROM (SELECT o.channel, o.ingested_at AS t, o.relation, -1 AS sign FROM old_rows o
                  UNION ALL
                  SELECT n.channel, n.ingested_at, n.relation, 1 FROM new_rows n) u
           CROSS JOIN (VALUES ('1m', 'minute'), ('1h', 'hour')) AS g(grain, unit)
           GROUP BY 1, 2, 3, 4
          HAVING sum(u.sign) <> 0) x;
  IF r.grain IS NOT NULL THEN
    INSERT INTO pulse.ingest_counts AS c (grain, bucket, channel, kind, events)
    SELECT * FROM unnest(r.grain, r.bucket, r.channel, r.kind, r.delta) ORDER BY 1, 2, 3, 4
    ON CONFLICT (grain, bucket, channel, kind) DO UPDATE SET events = c.events + excluded.events;
    DELETE FROM pulse.ingest_counts c USING unnest(r.grain, r.bucket, r.channel, r.kind) AS u(g, b, ch, k)
     WHERE c.grain = u.g AND c.bucket = u.b AND c.channel = u.ch AND c.kind = u.k AND c.events = 0;
  END IF;
  SELECT array_agg(x.hour) AS hour, array_agg(x.channel) AS channel, array_agg(x.replies) AS replies,
         array_agg(x.mentions) AS mentions, array_agg(x.quotes) AS quotes
    INTO r
    FROM (SELECT pulse.hour_floor(u.t) AS hour, u.channel,
                 sum(u.sign) FILTER (WHERE u.kind = 'reply') AS replies,
                 sum(u.sign) FILTER (WHERE u.kind = 'mention') AS mentions,
                 sum(u.sign) FILTER (WHERE u.kind = 'quote') AS quotes
            FROM (SELECT o.channel, o.created_at AS t, pulse.engagement_kind(o.relation, o.thread_root_id) AS kind,
                         -1 AS sign
                    FROM old_rows o WHERE pulse.is_engagement(o.relation, o.thread_root_id)
                  UNION ALL
                  SELECT n.channel, n.created_at, pulse.engagement_kind(n.relation, n.thread_root_id), 1
                    FROM new_rows n WHERE pulse.is_engagement(n.relation, n.thread_root_id)) u
           GROUP BY 1, 2) x
   WHERE coalesce(x.replies, 0) <> 0 OR coalesce(x.mentions, 0) <> 0 OR coalesce(x.quotes, 0) <> 0;
  IF r.hour IS NOT NULL THEN
    INSERT INTO pulse.engagement_hours AS h (hour, channel, replies, mentions, quotes, favourites, reblogs, follows)
    SELECT u.h, u.c, coalesce(u.r, 0), coalesce(u.m, 0), coalesce(u.q, 0), 0, 0, 0
      FROM unnest(r.hour, r.channel, r.replies, r.mentions, r.quotes) AS u(h, c, r, m, q) ORDER BY 1, 2
    ON CONFLICT (hour, channel) DO UPDATE SET
      replies = h.replies + excluded.replies, mentions = h.mentions + excluded.mentions,
      quotes = h.quotes + excluded.quotes;
    DELETE FROM pulse.engagement_hours h USING unnest(r.hour, r.channel) AS u(hr, c)
     WHERE h.hour = u.hr AND h.channel = u.c
       AND h.replies = 0 AND h.mentions = 0 AND h.quotes = 0 AND h.favourites = 0 AND h.reblogs = 0
       AND h.follows = 0;
  END IF;
  RETURN NULL;
END $$;

-- Every count again from the rows stored (first migrate after the upgrade, a TRUNCATE).
CREATE OR REPLACE FUNCTION pulse.ingest_counts_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM pulse.ingest_counts;
  INSERT INTO pulse.ingest_counts (grain, bucket, channel, kind, events)
  SELECT '1m', x.m, x.channel, x.kind, sum(x.n)
    FROM (SELECT date_trunc('minute', s.ingested_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m, s.channel,
                 s.relation AS kind, count(*) AS n
            FROM pulse.statuses s GROUP BY 1, 2, 3
          UNION ALL
          SELECT date_trunc('minute', i.ingested_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', i.channel, i.kind, count(*)
            FROM pulse.interactions i GROUP BY 1, 2, 3) x
   GROUP BY 1, 2, 3, 4;
  INSERT INTO pulse.ingest_counts (grain, bucket, channel, kind, events)
  SELECT '1h', pulse.hour_floor(c.bucket), c.channel, c.kind, sum(c.events)
    FROM pulse.ingest_counts c WHERE c.grain = '1m' GROUP BY 1, 2, 3, 4;
END $$;

-- ---- heartbeats per hour: maintenance -------------------------------------------------------------
-- The increase of a counter since the previous reading: a lower reading means the process restarted
-- and counted from zero again. NULL before: no previous reading, no increase (the panels' rule).
CREATE OR REPLACE FUNCTION pulse.counter_delta(cur bigint, prev bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN prev IS NULL THEN 0 WHEN cur >= prev THEN cur - prev ELSE cur END
$$;

-- The rows of these channels and hours again, from their heartbeats.
CREATE OR REPLACE FUNCTION pulse.heartbeat_hours_recompute(p_channel text[], p_hour timestamptz[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM pulse.heartbeat_hours r
   USING unnest(p_channel, p_hour) AS u(c, h)
   WHERE r.channel = u.c AND r.hour = u.h;
  INSERT INTO pulse.heartbeat_hours
  SELECT u.c, u.h, a.*
    FROM (SELECT DISTINCT x.c, x.h FROM unnest(p_channel, p_hour) AS x(c, h)) u
   CROSS JOIN LATERAL (
         SELECT count(*)::integer, count(b.lag_seconds)::integer, sum(b.lag_seconds), max(b.lag_seconds),
                min(CASE WHEN b.stream_connected THEN 1 ELSE 0 END), max(b.spool_depth), min(b.ratelimit_remaining),
                min(b.at), (array_agg(b.catchup_runs_total ORDER BY b.at))[1],
                (array_agg(b.catchup_pages_total ORDER BY b.at))[1], (array_agg(b.reconnects_total ORDER BY b.at))[1],
                max(b.at), (array_agg(b.catchup_runs_total ORDER BY b.at DESC))[1],
                (array_agg(b.catchup_pages_total ORDER BY b.at DESC))[1],
                (array_agg(b.reconnects_total ORDER BY b.at DESC))[1],
                coalesce(sum(b.runs), 0)::bigint, coalesce(sum(b.pages), 0)::bigint, coalesce(sum(b.reconnects), 0)::bigint
           FROM (SELECT h.*,
                        pulse.counter_delta(h.catchup_runs_total, lag(h.catchup_runs_total) OVER w) AS runs,
                        pulse.counter_delta(h.catchup_pages_total, lag(h.catchup_pages_total) OVER w) AS pages,
                        pulse.counter_delta(h.reconnects_total, lag(h.reconnects_total) OVER w) AS reconnects
                   FROM pulse.heartbeats h
                  WHERE h.channel = u.c AND h.at >= u.h AND h.at < u.h + interval '1 hour'
                 WINDOW w AS (ORDER BY h.at)) b
         HAVING count(*) > 0) a
   ORDER BY 1, 2;
END $$;

-- Heartbeats were stored. The usual case, one heartbeat after the hour's last, is appended in one
-- upsert; anything else (earlier than a stored one) recomputes its hour.
CREATE OR REPLACE FUNCTION pulse.heartbeats_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  b record;
  late_channel text[] := '{}';
  late_hour timestamptz[] := '{}';
BEGIN
  FOR b IN SELECT n.*, pulse.hour_floor(n.at) AS hour FROM new_rows n ORDER BY n.channel, n.at LOOP
    INSERT INTO pulse.heartbeat_hours AS r
    VALUES (b.channel, b.hour, 1, (b.lag_seconds IS NOT NULL)::integer, b.lag_seconds, b.lag_seconds,
            CASE WHEN b.stream_connected THEN 1 ELSE 0 END, b.spool_depth, b.ratelimit_remaining,
            b.at, b.catchup_runs_total, b.catchup_pages_total, b.reconnects_total,
            b.at, b.catchup_runs_total, b.catchup_pages_total, b.reconnects_total, 0, 0, 0)
    ON CONFLICT (channel, hour) DO UPDATE SET
      beats = r.beats + 1,
      lag_n = r.lag_n + excluded.lag_n,
      lag_sum = CASE WHEN excluded.lag_sum IS NULL THEN r.lag_sum ELSE coalesce(r.lag_sum, 0) + excluded.lag_sum END,
      lag_max = greatest(r.lag_max, excluded.lag_max),
      connected_min = least(r.connected_min, excluded.connected_min),
      spool_max = greatest(r.spool_max, excluded.spool_max),
      ratelimit_min = least(r.ratelimit_min, excluded.ratelimit_min),
      inner_runs = r.inner_runs + pulse.counter_delta(excluded.last_runs, r.last_runs),
      inner_pages = r.inner_pages + pulse.counter_delta(excluded.last_pages, r.last_pages),
      inner_reconnects = r.inner_reconnects + pulse.counter_delta(excluded.last_reconnects, r.last_reconnects),
      last_at = excluded.last_at, last_runs = excluded.last_runs, last_pages = excluded.last_pages,
      last_reconnects = excluded.last_reconnects
     WHERE r.last_at < excluded.last_at;
    IF NOT FOUND THEN
      late_channel := late_channel || b.channel;
      late_hour := late_hour || b.hour;
    END IF;
  END LOOP;
  IF cardinality(late_channel) > 0 THEN
    PERFORM pulse.heartbeat_hours_recompute(late_channel, late_hour);
  END IF;
  RETURN NULL;
END $$;

-- Heartbeats were removed or changed: their hours again. Hours older than every heartbeat left are
-- dropped too (on full TimescaleDB a retention policy drops whole chunks, which fires no trigger;
-- pulse.heartbeat_series ignores such hours until then).
CREATE OR REPLACE FUNCTION pulse.heartbeats_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.heartbeat_hours_recompute(array_agg(o.channel), array_agg(pulse.hour_floor(o.at)))
     FROM old_rows o HAVING count(*) > 0;
  IF TG_OP = 'UPDATE' THEN
    PERFORM pulse.heartbeat_hours_recompute(array_agg(n.channel), array_agg(pulse.hour_floor(n.at)))
       FROM new_rows n HAVING count(*) > 0;
  END IF;
  PERFORM pulse.heartbeat_hours_prune();
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.heartbeat_hours_prune() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM pulse.heartbeat_hours r
   USING (SELECT c.channel, (SELECT pulse.hour_floor(min(h.at)) FROM pulse.heartbeats h WHERE h.channel = c.channel) AS first
            FROM (SELECT DISTINCT channel FROM pulse.heartbeat_hours) c) f
   WHERE r.channel = f.channel AND (f.first IS NULL OR r.hour < f.first);
END $$;

CREATE OR REPLACE FUNCTION pulse.heartbeat_hours_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM pulse.heartbeat_hours;
  PERFORM pulse.heartbeat_hours_recompute(array_agg(h.channel), array_agg(h.hour))
     FROM (SELECT DISTINCT b.channel, pulse.hour_floor(b.at) AS hour FROM pulse.heartbeats b) h;
END $$;

-- All three again from the rows stored: the first migrate after the upgrade (with its progress; on an
-- empty database there is nothing to show), and bench/kpi_world.py, which writes with triggers off.
CREATE OR REPLACE FUNCTION pulse.live_rollups_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  quiet boolean := NOT EXISTS (SELECT 1 FROM pulse.statuses) AND NOT EXISTS (SELECT 1 FROM pulse.interactions)
                   AND NOT EXISTS (SELECT 1 FROM pulse.heartbeats);
BEGIN
  IF NOT quiet THEN RAISE NOTICE 'live rollups: 0/3 tables'; END IF;
  PERFORM pulse.engagement_hours_rebuild();
  IF NOT quiet THEN RAISE NOTICE 'live rollups: 1/3 tables'; END IF;
  PERFORM pulse.ingest_counts_rebuild();
  IF NOT quiet THEN RAISE NOTICE 'live rollups: 2/3 tables'; END IF;
  PERFORM pulse.heartbeat_hours_rebuild();
  IF NOT quiet THEN RAISE NOTICE 'live rollups: 3/3 tables'; END IF;
END $$;

-- An operator emptied an event table or the heartbeats: build again from what is left.
CREATE OR REPLACE FUNCTION pulse.live_rollups_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_ARGV[0] = 'heartbeats' THEN
    PERFORM pulse.heartbeat_hours_rebuild();
  ELSE
    PERFORM pulse.ingest_counts_rebuild();
    PERFORM pulse.engagement_hours_rebuild();
  END IF;
  RETURN NULL;
END $$;

DO $do$
DECLARE
  timescale boolean := pulse.tier() <> 'postgres';   -- hypertables (Apache or full licence)
BEGIN
  -- Writers wait while the triggers are replaced (and the rollups built), so none slips in between.
  -- (schema/README.md: statuses before the other event tables)
  LOCK TABLE pulse.statuses, pulse.interactions, pulse.heartbeats IN SHARE ROW EXCLUSIVE MODE;
  DROP TRIGGER IF EXISTS ingest_insert ON pulse.statuses;
  DROP TRIGGER IF EXISTS ingest_delete ON pulse.statuses;
  DROP TRIGGER IF EXISTS ingest_update ON pulse.statuses;
  DROP TRIGGER IF EXISTS ingest_truncate ON pulse.statuses;
  DROP TRIGGER IF EXISTS ingest_insert ON pulse.interactions;
  DROP TRIGGER IF EXISTS ingest_delete ON pulse.interactions;
  DROP TRIGGER IF EXISTS ingest_update ON pulse.interactions;
  DROP TRIGGER IF EXISTS ingest_truncate ON pulse.interactions;
  DROP TRIGGER IF EXISTS hours_insert ON pulse.heartbeats;
  DROP TRIGGER IF EXISTS hours_delete ON pulse.heartbeats;
  DROP TRIGGER IF EXISTS hours_update ON pulse.heartbeats;
  DROP TRIGGER IF EXISTS hours_truncate ON pulse.heartbeats;

  CREATE TRIGGER ingest_insert AFTER INSERT ON pulse.statuses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.ingest_statuses_inserted();
  CREATE TRIGGER ingest_insert AFTER INSERT ON pulse.interactions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.ingest_interactions_inserted();
  IF NOT timescale THEN
    CREATE TRIGGER ingest_delete AFTER DELETE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.ingest_statuses_deleted();
    CREATE TRIGGER ingest_delete AFTER DELETE ON pulse.interactions
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.ingest_interactions_deleted();
  ELSE
    CREATE TRIGGER ingest_delete AFTER DELETE ON pulse.statuses
      FOR EACH ROW EXECUTE FUNCTION pulse.live_rollups_row('statuses');
    CREATE TRIGGER ingest_delete AFTER DELETE ON pulse.interactions
      FOR EACH ROW EXECUTE FUNCTION pulse.live_rollups_row('interactions');
  END IF;
  -- what is counted changed (in practice: the sink upgrading a status's relation or placing it in a
  -- thread). Plain PostgreSQL: once per statement, as 24_rollup_triggers.sql; TimescaleDB: per row,
  -- and only for such rows.
  IF NOT timescale THEN
    CREATE TRIGGER ingest_update AFTER UPDATE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.live_statuses_updated();
  ELSE
    CREATE TRIGGER ingest_update AFTER UPDATE OF relation, thread_root_id, created_at, channel, ingested_at
      ON pulse.statuses FOR EACH ROW
      WHEN (OLD.relation IS DISTINCT FROM NEW.relation OR OLD.thread_root_id IS DISTINCT FROM NEW.thread_root_id
            OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.channel IS DISTINCT FROM NEW.channel
            OR OLD.ingested_at IS DISTINCT FROM NEW.ingested_at)
      EXECUTE FUNCTION pulse.live_rollups_row('statuses');
  END IF;
  CREATE TRIGGER ingest_update AFTER UPDATE OF kind, occurred_at, channel, ingested_at ON pulse.interactions
    FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.occurred_at IS DISTINCT FROM NEW.occurred_at
          OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.ingested_at IS DISTINCT FROM NEW.ingested_at)
    EXECUTE FUNCTION pulse.live_rollups_row('interactions');
  CREATE TRIGGER ingest_truncate AFTER TRUNCATE ON pulse.statuses
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.live_rollups_truncated('statuses');
  CREATE TRIGGER ingest_truncate AFTER TRUNCATE ON pulse.interactions
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.live_rollups_truncated('interactions');

  -- Heartbeats are never compressed: transition tables on every tier.
  CREATE TRIGGER hours_insert AFTER INSERT ON pulse.heartbeats
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.heartbeats_inserted();
  CREATE TRIGGER hours_delete AFTER DELETE ON pulse.heartbeats
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.heartbeats_changed();
  CREATE TRIGGER hours_update AFTER UPDATE ON pulse.heartbeats
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.heartbeats_changed();
  CREATE TRIGGER hours_truncate AFTER TRUNCATE ON pulse.heartbeats
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.live_rollups_truncated('heartbeats');

  -- First migrate after the upgrade that added them: built from the rows already stored.
  IF EXISTS (SELECT 1 FROM pulse.config WHERE key = 'live_rollups_rebuild_pending') THEN
    PERFORM pulse.live_rollups_rebuild();
    DELETE FROM pulse.config WHERE key = 'live_rollups_rebuild_pending';
  END IF;
END $do$;

-- ---- reading: the Live board --------------------------------------------------------------------
CREATE OR REPLACE FUNCTION kpi.engagement_series(p_from timestamptz, p_to timestamptz,
                                                 p_bucket interval DEFAULT NULL, p_channel text DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, replies bigint, mentions bigint, quotes bigint, favourites bigint,
               reblogs bigint, follows bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- JIT and parallel workers cost more than these queries (tens of thousands of rollup rows at most)
SET jit = off SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
  secs numeric := CASE WHEN p_bucket IS NOT NULL THEN pulse.bucket_seconds(p_bucket) END;
  h0 timestamptz := pulse.hour_ceil(p_from);
  h1 timestamptz := pulse.hour_floor(p_to);
  -- the engagements in [$1, $2) of channel $3 (NULL: all), from the event tables through their time
  -- indexes: the kinds of kpi.engagements without its per-row thread look-up
  raw constant text := $r$
    SELECT s.created_at AS at, pulse.engagement_kind(s.relation, s.thread_root_id) AS kind
      FROM pulse.statuses s
     WHERE s.created_at >= %1$s AND s.created_at < %2$s AND ($3::text IS NULL OR s.channel = $3)
       AND pulse.is_engagement(s.relation, s.thread_root_id)
    UNION ALL
    SELECT i.occurred_at, i.kind FROM pulse.interactions i
     WHERE i.occurred_at >= %1$s AND i.occurred_at < %2$s AND ($3::text IS NULL OR i.channel = $3)$r$;
  counts constant text := $c$
    count(*) FILTER (WHERE x.kind = 'reply'), count(*) FILTER (WHERE x.kind = 'mention'),
    count(*) FILTER (WHERE x.kind = 'quote'), count(*) FILTER (WHERE x.kind = 'favourite'),
    count(*) FILTER (WHERE x.kind = 'reblog'), count(*) FILTER (WHERE x.kind = 'follow')$c$;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RETURN;
  END IF;
  -- EXECUTE: planned for the actual range every call (the boards ask for very different ranges).
  IF secs IS NULL THEN
    -- one bucket, the whole range: whole local days and UTC hours from the rollups, the partial
    -- hours at the edges from the events (pulse.range_pieces, as kpi.activity)
    RETURN QUERY EXECUTE format($q$
      WITH pieces AS (SELECT * FROM pulse.range_pieces($1, $2, pulse.timezone()))
      SELECT $1, sum(c.replies)::bigint, sum(c.mentions)::bigint, sum(c.quotes)::bigint,
             sum(c.favourites)::bigint, sum(c.reblogs)::bigint, sum(c.follows)::bigint
        FROM (SELECT x.replies, x.mentions, x.quotes, 0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
                FROM pieces p JOIN pulse.activity_statuses_1h x ON p.grain = '1h' AND x.bucket = p.piece_from
               WHERE $3::text IS NULL OR x.channel = $3
              UNION ALL
              SELECT x.replies, x.mentions, x.quotes, 0, 0, 0
                FROM pieces p JOIN pulse.activity_statuses_1d x ON p.grain = '1d' AND x.bucket = p.piece_from
               WHERE $3::text IS NULL OR x.channel = $3
              UNION ALL
              SELECT 0, 0, 0, x.favourites, x.reblogs, x.follows
                FROM pieces p JOIN pulse.activity_interactions_1h x ON p.grain = '1h' AND x.bucket = p.piece_from
               WHERE $3::text IS NULL OR x.channel = $3
              UNION ALL
              SELECT 0, 0, 0, x.favourites, x.reblogs, x.follows
                FROM pieces p JOIN pulse.activity_interactions_1d x ON p.grain = '1d' AND x.bucket = p.piece_from
               WHERE $3::text IS NULL OR x.channel = $3
              UNION ALL
              SELECT %s
                FROM pieces p CROSS JOIN LATERAL (%s) x
               WHERE p.grain = 'raw'
              HAVING count(*) > 0) c
      HAVING count(*) > 0$q$, counts, format(raw, 'p.piece_from', 'p.piece_to'))
    USING p_from, p_to, p_channel;
  ELSIF secs % 3600 = 0 AND h0 < h1 THEN
    -- buckets of whole hours: the hours inside [from, to) from pulse.engagement_hours (one row per
    -- channel and hour), the partial hours at both edges from the events
    RETURN QUERY EXECUTE format($q$
      SELECT pulse.epoch_bucket(c.at, $4), sum(c.replies)::bigint, sum(c.mentions)::bigint,
             sum(c.quotes)::bigint, sum(c.favourites)::bigint, sum(c.reblogs)::bigint, sum(c.follows)::bigint
        FROM (SELECT x.hour AS at, x.replies, x.mentions, x.quotes, x.favourites, x.reblogs, x.follows
                FROM pulse.engagement_hours x
               WHERE x.hour >= $5 AND x.hour < $6 AND ($3::text IS NULL OR x.channel = $3)
              UNION ALL
              SELECT pulse.epoch_bucket(x.at, $4), %1$s FROM (%2$s) x GROUP BY 1
              UNION ALL
              SELECT pulse.epoch_bucket(x.at, $4), %1$s FROM (%3$s) x GROUP BY 1) c
       GROUP BY 1$q$, counts, format(raw, '$1', '$5'), format(raw, '$6', '$2'))
    USING p_from, p_to, p_channel, secs, h0, h1;
  ELSE
    -- buckets shorter than an hour (or a range inside one or two hours): from the events
    RETURN QUERY EXECUTE format($q$
      SELECT pulse.epoch_bucket(x.at, $4), %s FROM (%s) x GROUP BY 1$q$, counts, format(raw, '$1', '$2'))
    USING p_from, p_to, p_channel, secs;
  END IF;
END $$;

COMMENT ON FUNCTION kpi.engagement_series(timestamptz, timestamptz, interval, text) IS
  'kpi.engagement_series(from, to, bucket default NULL, channel default NULL): the engagements (as in kpi.engagements) '
  'that happened in [from, to), counted per kind and bucket. Buckets are multiples of `bucket` (at least one minute) '
  'since 1970-01-01 UTC, as Grafana''s $__timeGroup; bucket NULL: the whole range as one row whose bucket is `from`. '
  'Only buckets with an engagement. Buckets of whole hours read hourly rollups (NULL: daily ones too); only the '
  'partial hours at the range''s edges and buckets shorter than an hour read the events.';

-- Distinct accounts with an engagement other than a follow. A range of a few hours has few events:
-- they are counted directly. Over longer ranges the account sets (23_rollups.sql) answer; they hold
-- follows too, under format '' (a follow is about no post), so: every account of a non-'' set is a
-- participant; an account found only in '' sets is one when it has an engagement other than a follow
-- in the range, which one probe through the account indexes tells (few accounts: those who only
-- followed, mentioned outside a thread or reacted to a status not stored).
CREATE OR REPLACE FUNCTION kpi.participants(p_from timestamptz, p_to timestamptz, p_channel text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Every read here goes through an index by design (sets by key, edges by time, probes by account):
-- a young database's statistics must not make the planner scan the event tables instead.
SET jit = off SET max_parallel_workers_per_gather = 0 SET enable_seqscan = off AS $$
DECLARE
  with_post bit varying;   -- accounts in the sets of a post's format: engaged with a post, no follow
  no_post bit varying;      -- accounts in the '' sets: some of them only followed
  candidates text[];
  more bigint := 0;
  width integer;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RETURN 0;
  END IF;
  IF p_to - p_from <= interval '6 hours' THEN
    RETURN (SELECT count(DISTINCT x.account_key)
              FROM (SELECT s.account_key FROM pulse.statuses s
                     WHERE s.created_at >= p_from AND s.created_at < p_to
                       AND (p_channel IS NULL OR s.channel = p_channel)
                       AND pulse.is_engagement(s.relation, s.thread_root_id)
                    UNION ALL
                    SELECT i.account_key FROM pulse.interactions i
                     WHERE i.occurred_at >= p_from AND i.occurred_at < p_to
                       AND (p_channel IS NULL OR i.channel = p_channel) AND i.kind <> 'follow') x);
  END IF;
  -- whole days and hours: the rollups' sets, each widened to the longest a set can be (every account
  -- number fits) and ORed in one pass. (Grouping them by length instead, as pulse.account_set does,
  -- decompresses each set twice: once for its length, once to OR it; ~900 sets over 90 days.)
  width := (SELECT (max(a.account_no) / 8192 + 1) * 8192 FROM pulse.account_numbers a);
  IF width IS NOT NULL THEN
    EXECUTE format($q$
      SELECT bit_or(r.accounts::bit(%1$s)) FILTER (WHERE r.format <> ''),
             bit_or(r.accounts::bit(%1$s)) FILTER (WHERE r.format = '')
        FROM pulse.range_pieces($1, $2, pulse.timezone()) p
        JOIN pulse.rollup_accounts r ON r.grain = p.grain AND r.bucket = p.piece_from
       WHERE p.grain <> 'raw' AND ($3::text IS NULL OR r.channel = $3)$q$, width)
      INTO with_post, no_post USING p_from, p_to, p_channel;
  END IF;
  -- the partial hours at the edges, from the events: each account once per kind of set
  SELECT pulse.bits_or(with_post, pulse.bits_from(array_agg(a.account_no) FILTER (WHERE NOT e.bare))),
         pulse.bits_or(no_post, pulse.bits_from(array_agg(a.account_no) FILTER (WHERE e.bare)))
    INTO with_post, no_post
    FROM (SELECT x.account_key, coalesce(f.format, '') = '' AS bare
            FROM pulse.range_pieces(p_from, p_to, pulse.timezone()) p
           CROSS JOIN LATERAL (
                 SELECT s.channel, s.account_key,
                        pulse.engagement_ref(s.relation, s.thread_root_id, s.in_reply_to_id, s.quoted_id) AS post_ref
                   FROM pulse.statuses s
                  WHERE s.created_at >= p.piece_from AND s.created_at < p.piece_to
                    AND (p_channel IS NULL OR s.channel = p_channel)
                    AND pulse.is_engagement(s.relation, s.thread_root_id)
                 UNION ALL
                 SELECT i.channel, i.account_key, i.status_id
                   FROM pulse.interactions i
                  WHERE i.occurred_at >= p.piece_from AND i.occurred_at < p.piece_to
                    AND (p_channel IS NULL OR i.channel = p_channel)) x
            LEFT JOIN pulse.rollup_post_format f ON f.channel = x.channel AND f.post_ref = x.post_ref
           WHERE p.grain = 'raw'
           GROUP BY 1, 2) e
   CROSS JOIN LATERAL (SELECT n.account_no FROM pulse.account_numbers n WHERE n.account_key = e.account_key) a;
  -- the accounts found only in '' sets, each probed on its own through the account indexes: scalar
  -- subqueries, run per account (EXISTS joined by OR, or = ANY of them all, were planned as scans of
  -- the range's events), the second only when the first finds nothing
  candidates := ARRAY(SELECT a.account_key FROM pulse.account_numbers a
                       WHERE a.account_no = ANY (ARRAY(SELECT pulse.bits_positions(pulse.bits_minus(no_post, with_post)))));
  IF cardinality(candidates) > 0 THEN
    SELECT count(*) INTO more
      FROM unnest(candidates) AS c(k)
     WHERE coalesce((SELECT true FROM pulse.statuses s
                      WHERE s.account_key = c.k AND s.created_at >= p_from AND s.created_at < p_to
                        AND (p_channel IS NULL OR s.channel = p_channel)
                        AND pulse.is_engagement(s.relation, s.thread_root_id)
                      LIMIT 1),
                    (SELECT true FROM pulse.interactions i
                      WHERE i.account_key = c.k AND i.occurred_at >= p_from AND i.occurred_at < p_to
                        AND (p_channel IS NULL OR i.channel = p_channel) AND i.kind <> 'follow'
                      LIMIT 1),
                    false);
  END IF;
  RETURN coalesce(bit_count(with_post), 0) + more;
END $$;

COMMENT ON FUNCTION kpi.participants(timestamptz, timestamptz, text) IS
  'kpi.participants(from, to, channel default NULL): distinct accounts with an engagement other than a follow '
  '(a reply, mention, quote, favourite or reblog, as in kpi.engagements) in [from, to). Exact; over more than 6 '
  'hours read from the account sets of the rollups, only the range''s partial edge hours from the events.';

-- ---- reading: the Ingester health board ---------------------------------------------------------
-- Rows written (pulse.statuses by relation, pulse.interactions by kind) per bucket of ingested_at,
-- over the whole UTC minutes that [from, to) touches: minutes and hours from pulse.ingest_counts.
-- The rows have no index on ingested_at (it would cost every write), so only whole minutes can be
-- answered: the bucket width is rounded down to whole minutes (Grafana's intervals of a minute and
-- more are: 1m, 2m, 5m, ... 1h, 2h).
CREATE OR REPLACE FUNCTION pulse.ingest_series(p_from timestamptz, p_to timestamptz,
                                               p_bucket interval DEFAULT NULL, p_channel text DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, kind text, events bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
  secs numeric := floor(pulse.bucket_seconds(p_bucket) / 60) * 60;
  m0 timestamptz := date_trunc('minute', p_from AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  m1 timestamptz := date_trunc('minute', p_to AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  h0 timestamptz;
  h1 timestamptz;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RETURN;
  END IF;
  IF m1 < p_to THEN
    m1 := m1 + interval '1 minute';
  END IF;
  h0 := pulse.hour_ceil(m0);
  h1 := pulse.hour_floor(m1);
  IF secs % 3600 <> 0 OR h0 >= h1 THEN
    h0 := m1;   -- minutes only
    h1 := m1;
  END IF;
  RETURN QUERY EXECUTE $q$
    SELECT pulse.epoch_bucket(c.bucket, $6), c.kind, sum(c.events)::bigint
      FROM pulse.ingest_counts c
     WHERE (   (c.grain = '1m' AND c.bucket >= $1 AND c.bucket < $4)
            OR (c.grain = '1h' AND c.bucket >= $4 AND c.bucket < $5)
            OR (c.grain = '1m' AND c.bucket >= $5 AND c.bucket < $2))
       AND ($3::text IS NULL OR c.channel = $3)
     GROUP BY 1, 2
    HAVING sum(c.events) <> 0$q$
  USING m0, m1, p_channel, h0, h1, secs;
END $$;

COMMENT ON FUNCTION pulse.ingest_series(timestamptz, timestamptz, interval, text) IS
  'Rows stored in pulse.statuses (kind = relation) and pulse.interactions (kind) per bucket of ingested_at, over the '
  'whole UTC minutes that [from, to) touches; buckets as in kpi.engagement_series, in whole minutes. Read from '
  'pulse.ingest_counts, which triggers keep equal to the rows stored. For the Ingester health board.';

-- The heartbeat panels' figures per bucket, over the heartbeats in [from, to): average and highest
-- lag, whether the stream was connected at every heartbeat (min), the highest spool depth and the
-- lowest rate limit left, and the increases of the counters (each heartbeat's increase over the
-- previous one of its channel, when that one is at or after from - 5 minutes: the panels' window).
-- Hours from pulse.heartbeat_hours; the increase at an hour's first heartbeat is computed here from
-- the reading before it (the previous hour's last, or a raw heartbeat at an edge).
CREATE OR REPLACE FUNCTION pulse.heartbeat_series(p_from timestamptz, p_to timestamptz,
                                                  p_bucket interval DEFAULT NULL, p_channel text DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, lag_avg double precision, lag_max double precision, connected integer,
               spool_max integer, ratelimit_min integer, catchup_runs bigint, catchup_pages bigint,
               reconnects bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
  secs numeric := pulse.bucket_seconds(p_bucket);
  h0 timestamptz := pulse.hour_ceil(p_from);
  h1 timestamptz := pulse.hour_floor(p_to);
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RETURN;
  END IF;
  IF secs % 3600 <> 0 OR h0 >= h1 THEN
    h0 := p_to;   -- heartbeats only
    h1 := p_to;
  END IF;
  RETURN QUERY EXECUTE $q$
    WITH firsts AS MATERIALIZED (
      -- each channel's oldest heartbeat's hour: rows of earlier hours are left over from dropped
      -- chunks (full TimescaleDB's retention policy fires no trigger) until the next delete prunes them
      SELECT c.channel, (SELECT pulse.hour_floor(min(o.at)) FROM pulse.heartbeats o WHERE o.channel = c.channel) AS hour
        FROM (SELECT DISTINCT r.channel FROM pulse.heartbeat_hours r WHERE $3::text IS NULL OR r.channel = $3) c
    ), segments AS (
      -- single heartbeats: the 5 minutes before the range (readings to compare with only) and the
      -- parts of the range outside whole hours
      SELECT h.channel, h.at, 1 AS beats, (h.lag_seconds IS NOT NULL)::integer AS lag_n,
             h.lag_seconds AS lag_sum, h.lag_seconds AS lag_max,
             CASE WHEN h.stream_connected THEN 1 ELSE 0 END AS connected, h.spool_depth AS spool_max,
             h.ratelimit_remaining AS ratelimit_min,
             h.catchup_runs_total AS first_runs, h.catchup_pages_total AS first_pages, h.reconnects_total AS first_reconnects,
             h.catchup_runs_total AS last_runs, h.catchup_pages_total AS last_pages, h.reconnects_total AS last_reconnects,
             0::bigint AS inner_runs, 0::bigint AS inner_pages, 0::bigint AS inner_reconnects
        FROM pulse.heartbeats h
       WHERE ((h.at >= $1 - interval '5 minutes' AND h.at < $4) OR (h.at >= $5 AND h.at < $2))
         AND ($3::text IS NULL OR h.channel = $3)
      UNION ALL
      -- whole hours
      SELECT r.channel, r.hour, r.beats, r.lag_n, r.lag_sum, r.lag_max, r.connected_min, r.spool_max,
             r.ratelimit_min, r.first_runs, r.first_pages, r.first_reconnects, r.last_runs, r.last_pages,
             r.last_reconnects, r.inner_runs, r.inner_pages, r.inner_reconnects
        FROM pulse.heartbeat_hours r JOIN firsts f ON f.channel = r.channel AND r.hour >= f.hour
       WHERE r.hour >= $4 AND r.hour < $5
    ), linked AS (
      SELECT s.*,
             lag(s.last_runs) OVER w AS prev_runs, lag(s.last_pages) OVER w AS prev_pages,
             lag(s.last_reconnects) OVER w AS prev_reconnects
        FROM segments s
      WINDOW w AS (PARTITION BY s.channel ORDER BY s.at)
    )
    SELECT pulse.epoch_bucket(l.at, $6),
           sum(l.lag_sum) / nullif(sum(l.lag_n), 0), max(l.lag_max), min(l.connected), max(l.spool_max),
           min(l.ratelimit_min),
           sum(l.inner_runs + pulse.counter_delta(l.first_runs, l.prev_runs))::bigint,
           sum(l.inner_pages + pulse.counter_delta(l.first_pages, l.prev_pages))::bigint,
           sum(l.inner_reconnects + pulse.counter_delta(l.first_reconnects, l.prev_reconnects))::bigint
      FROM linked l
     WHERE l.at >= $1
     GROUP BY 1$q$
  USING p_from, p_to, p_channel, h0, h1, secs;
END $$;

COMMENT ON FUNCTION pulse.heartbeat_series(timestamptz, timestamptz, interval, text) IS
  'The Ingester health board''s heartbeat figures per bucket (as in kpi.engagement_series, at least a minute) over '
  'the heartbeats in [from, to): lag_avg/lag_max of lag_seconds, connected = 0 when any heartbeat saw the stream '
  'down, spool_max, ratelimit_min, and the increases of the catch-up and reconnect counters (over the previous '
  'heartbeat of the channel when that one is at or after from - 5 minutes; a lower reading counts from zero). '
  'Whole hours from pulse.heartbeat_hours.';

REVOKE ALL ON FUNCTION kpi.engagement_series(timestamptz, timestamptz, interval, text),
                       kpi.participants(timestamptz, timestamptz, text),
                       pulse.ingest_series(timestamptz, timestamptz, interval, text),
                       pulse.heartbeat_series(timestamptz, timestamptz, interval, text) FROM PUBLIC;
-- pseudonymous counts, like kpi.activity: data staff may call the Live board's two
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pulse_analyst') THEN
    GRANT EXECUTE ON FUNCTION kpi.engagement_series(timestamptz, timestamptz, interval, text),
                              kpi.participants(timestamptz, timestamptz, text) TO pulse_reader, pulse_analyst;
    GRANT EXECUTE ON FUNCTION pulse.ingest_series(timestamptz, timestamptz, interval, text),
                              pulse.heartbeat_series(timestamptz, timestamptz, interval, text) TO pulse_reader;
  END IF;
END $$;
