-- 23_rollups: keeping the rollups of 020_rollups.sql exact, and reading account sets. Re-runnable.
--
-- Maintenance runs in triggers on the event tables, in the writer's transaction:
--   * an engagement stored      -> its counts go up (rollup_counts, below full TimescaleDB) and its
--                                  account's bit is set in the hour and day sets of its format;
--   * an engagement removed     -> counts go down; the bit is cleared only when the account has no
--                                  other engagement of that format left in that bucket (one probe
--                                  into the account's own events through the account indexes);
--   * a channel status stored, changed or removed -> the posts whose format may have changed are
--                                  re-derived; a post whose format changed moves its engagements'
--                                  accounts from the old format's sets to the new one's.
-- An UPDATE that turns a status into or out of an engagement (the sink upgrading a relation or
-- placing a status in a thread) is a removal of the old row and an insertion of the new one.
-- Triggers: statement-level with transition tables for INSERT (every tier) and DELETE (plain
-- PostgreSQL: TimescaleDB refuses transition tables for DELETE on compressed chunks), row-level
-- otherwise. They only note what changed (24_rollup_triggers.sql); pulse.rollup_apply_pending below
-- does the rest, for each statement or -- when the writer defers it, as the sink does -- once per
-- transaction, for the net change of all its statements (a batch of the sink changes the event
-- tables with five statements).
-- The functions are SECURITY DEFINER so the writer needs no rights on the rollups.

-- ---- bit sets ------------------------------------------------------------------------------------
-- A set of account numbers as a bit string, bit n = account number n. Sets grow as accounts are
-- numbered, so two sets may differ in length: the missing tail is all zeros.
-- (PL/pgSQL here and below where a function runs a query: its plan is kept for the session, where
-- a non-inlined SQL function would be planned again at every call.)
-- Sets are padded with zeros to a whole number of 8,192-bit blocks, so that all sets of one
-- channel's history have one of a few lengths: reading ORs each group of equal length with the
-- built-in bit_or (fast, but it needs equal lengths) and only the group results with pulse.bits_or.
-- Bit by bit (set_bit on a zeroed string): a tenth of a millisecond for a few hundred accounts, a
-- third of what sorting them into runs of zeros in SQL took.
CREATE OR REPLACE FUNCTION pulse.bits_from(ns integer[]) RETURNS bit varying
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  top integer;
  n integer;
  bits bit varying;
BEGIN
  FOREACH n IN ARRAY coalesce(ns, '{}') LOOP
    top := greatest(top, n);
  END LOOP;
  IF top IS NULL THEN
    RETURN B'';
  END IF;
  bits := repeat('0', (top / 8192 + 1) * 8192)::bit varying;
  FOREACH n IN ARRAY ns LOOP
    IF n IS NOT NULL THEN
      bits := set_bit(bits, n, 1);
    END IF;
  END LOOP;
  RETURN bits;
END $$;

CREATE OR REPLACE FUNCTION pulse.bits_or(a bit varying, b bit varying) RETURNS bit varying
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN a IS NULL THEN b
              WHEN b IS NULL THEN a
              WHEN length(a) = length(b) THEN a | b
              WHEN length(a) > length(b)
                THEN (substring(a FROM 1 FOR length(b)) | b) || substring(a FROM length(b) + 1)
              ELSE (a | substring(b FROM 1 FOR length(a))) || substring(b FROM length(a) + 1) END
$$;

-- a AND NOT b
CREATE OR REPLACE FUNCTION pulse.bits_minus(a bit varying, b bit varying) RETURNS bit varying
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN a IS NULL OR b IS NULL THEN a
              WHEN length(b) >= length(a) THEN a & ~substring(b FROM 1 FOR length(a))
              ELSE (substring(a FROM 1 FOR length(b)) & ~b) || substring(a FROM length(b) + 1) END
$$;

-- |a AND b|
CREATE OR REPLACE FUNCTION pulse.bits_common(a bit varying, b bit varying) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN a IS NULL OR b IS NULL THEN 0
              ELSE bit_count(substring(a FROM 1 FOR least(length(a), length(b)))
                             & substring(b FROM 1 FOR least(length(a), length(b)))) END
$$;

CREATE OR REPLACE AGGREGATE pulse.bits_union(bit varying) (SFUNC = pulse.bits_or, STYPE = bit varying);

-- ---- buckets ------------------------------------------------------------------------------------
-- '1h': UTC clock hours; '1d': local calendar days in `tz` (as views/30_activity_base.sql).
CREATE OR REPLACE FUNCTION pulse.bucket_start(grain text, at timestamptz, tz text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE grain WHEN '1h' THEN date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                    ELSE date_trunc('day', at AT TIME ZONE tz) AT TIME ZONE tz END
$$;

CREATE OR REPLACE FUNCTION pulse.bucket_end(grain text, start timestamptz, tz text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE grain WHEN '1h' THEN start + interval '1 hour'
                    ELSE ((start AT TIME ZONE tz) + interval '1 day') AT TIME ZONE tz END
$$;

-- ---- formats ------------------------------------------------------------------------------------
-- The format an engagement about channel status `ref` counts under: the format of the status's
-- thread root (pulse.own_statuses.format), '' when there is none.
-- (ROWS 20: a few posts, which the planner then looks up in pulse.rollup_post_format one by one
-- instead of hashing all of it.)
CREATE OR REPLACE FUNCTION pulse.ref_formats(p_channel text[], p_ref text[])
RETURNS TABLE (channel text, post_ref text, format text)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 20 SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF coalesce(cardinality(p_ref), 0) = 0 THEN
    RETURN;
  END IF;
  RETURN QUERY
  -- pulse.own_statuses.format, set-based: the status, its thread root, the root's mapped tag with
  -- the lowest precedence ('other' without one; '' when the status or its root is not stored)
  SELECT d.c, d.r,
         CASE WHEN p.status_id IS NULL THEN ''
              ELSE coalesce((SELECT f.format FROM unnest(p.tags) AS t(tag)
                               JOIN pulse.formats f ON f.tag = lower(ltrim(t.tag, '#'))
                              ORDER BY f.precedence LIMIT 1), 'other') END
    FROM (SELECT DISTINCT u.c, u.r FROM unnest(p_channel, p_ref) AS u(c, r) WHERE u.r IS NOT NULL) d
    LEFT JOIN LATERAL (SELECT s.channel, coalesce(s.thread_root_id, s.status_id) AS root
                         FROM pulse.statuses s
                        WHERE s.channel = d.c AND s.status_id = d.r AND s.relation = 'own_post'
                        LIMIT 1) s ON true
    -- "(...) IS TRUE": through statuses_own_idx by id; the condition as written would also match
    -- statuses_posts_time_idx (026), which the planner then reads whole, by time, to find one post
    LEFT JOIN LATERAL (SELECT x.status_id, x.tags
                         FROM pulse.statuses x
                        WHERE x.channel = s.channel AND x.status_id = s.root
                          AND x.relation = 'own_post' AND (x.in_reply_to_id IS NULL) IS TRUE
                        LIMIT 1) p ON true;
END $$;

-- The engagements about one channel status (the rows of pulse.engagement_rows with that post_ref).
CREATE OR REPLACE FUNCTION pulse.ref_engagements(p_channel text, p_ref text)
RETURNS TABLE (occurred_at timestamptz, account_key text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT s.created_at, s.account_key FROM pulse.statuses s
   WHERE s.channel = p_channel AND s.thread_root_id = p_ref AND s.relation <> 'own_post'
  UNION ALL
  SELECT s.created_at, s.account_key FROM pulse.statuses s
   WHERE s.channel = p_channel AND s.in_reply_to_id = p_ref AND s.thread_root_id IS NULL AND s.relation = 'reply'
  UNION ALL
  SELECT s.created_at, s.account_key FROM pulse.statuses s
   WHERE s.channel = p_channel AND s.quoted_id = p_ref AND s.thread_root_id IS NULL AND s.relation = 'quote'
  UNION ALL
  SELECT i.occurred_at, i.account_key FROM pulse.interactions i
   WHERE i.channel = p_channel AND i.status_id = p_ref
$$;

-- ---- maintenance --------------------------------------------------------------------------------
-- Join methods: the functions below that probe the event tables or the rollups for a few keys turn
-- hash and merge joins off (a hash or merge join there reads the whole table, however big it has
-- grown); pulse.rollup_apply_pending turns them on for joining the list with itself, and keeps its
-- probes as probes with LATERAL ... LIMIT 1.
-- (the release's functions, replaced by the ones below)
DROP FUNCTION IF EXISTS pulse.rollup_add(text[], timestamptz[], text[], text[], text[]),
                        pulse.rollup_remove(text[], timestamptz[], text[], text[], text[]),
                        pulse.rollup_count(text[], timestamptz[], text[], text[], integer),
                        pulse.rollup_sets_add(text[], timestamptz[], text[], text[]),
                        pulse.rollup_sets_remove(text[], timestamptz[], text[], text[]),
                        pulse.rollup_formats_of(text[], text[]);

-- Accounts join sets, given by key (grain, channel, bucket, format). A set is rewritten only when a
-- bit is new. (For moves between formats: pulse.rollup_apply_pending adds in a statement of its own.)
CREATE OR REPLACE FUNCTION pulse.rollup_sets_add(p_grain text[], p_channel text[], p_bucket timestamptz[],
                                                 p_format text[], p_account text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
  INSERT INTO pulse.rollup_accounts AS r (grain, channel, bucket, format, accounts, n)
  SELECT x.grain, x.c, x.b, x.f, x.bits, bit_count(x.bits)
    FROM (SELECT u.grain, u.c, u.b, u.f, pulse.bits_from(array_agg(a.account_no)) AS bits
            FROM unnest(p_grain, p_channel, p_bucket, p_format, p_account) AS u(grain, c, b, f, k)
            JOIN pulse.account_numbers a ON a.account_key = u.k
           GROUP BY 1, 2, 3, 4) x
   ORDER BY 1, 2, 3, 4
  ON CONFLICT (grain, channel, bucket, format) DO UPDATE SET
    accounts = pulse.bits_or(r.accounts, excluded.accounts),
    n = bit_count(pulse.bits_or(r.accounts, excluded.accounts))
   WHERE pulse.bits_common(r.accounts, excluded.accounts) < excluded.n;
END $$;

-- Accounts (key and number) leave sets, given by key, unless an engagement of theirs keeps them in.
CREATE OR REPLACE FUNCTION pulse.rollup_sets_remove(p_grain text[], p_channel text[], p_bucket timestamptz[],
                                                    p_format text[], p_account text[], p_no integer[],
                                                    tz text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
  UPDATE pulse.rollup_accounts r
     SET accounts = pulse.bits_minus(r.accounts, x.bits), n = bit_count(pulse.bits_minus(r.accounts, x.bits))
    FROM (SELECT c.grain, c.ch, c.b, c.f, pulse.bits_from(array_agg(c.no)) AS bits
            FROM (SELECT DISTINCT u.grain, u.ch, u.b, u.f, u.k, u.no
                    FROM unnest(p_grain, p_channel, p_bucket, p_format, p_account, p_no)
                         AS u(grain, ch, b, f, k, no)) c
           -- Is the account still engaged in that bucket and format? Inline (planned once, not once per
           -- probe). Through the account indexes: "channel = ... IS TRUE" keeps the planner, which
           -- often has no statistics for a young table, from scanning the channel's whole bucket
           -- through the primary key instead.
           WHERE NOT EXISTS (
                   SELECT 1 FROM pulse.statuses s
                     LEFT JOIN pulse.rollup_post_format f
                            ON f.channel = s.channel
                           AND f.post_ref = pulse.engagement_ref(s.relation, s.thread_root_id, s.in_reply_to_id, s.quoted_id)
                    WHERE s.account_key = c.k AND s.created_at >= c.b
                      AND s.created_at < pulse.bucket_end(c.grain, c.b, tz)
                      AND (s.channel = c.ch) IS TRUE AND pulse.is_engagement(s.relation, s.thread_root_id)
                      AND coalesce(f.format, '') = c.f)
             AND NOT EXISTS (
                   SELECT 1 FROM pulse.interactions i
                     LEFT JOIN pulse.rollup_post_format f ON f.channel = i.channel AND f.post_ref = i.status_id
                    WHERE i.account_key = c.k AND i.occurred_at >= c.b
                      AND i.occurred_at < pulse.bucket_end(c.grain, c.b, tz)
                      AND (i.channel = c.ch) IS TRUE AND coalesce(f.format, '') = c.f)
           GROUP BY 1, 2, 3, 4) x
   WHERE r.grain = x.grain AND r.channel = x.ch AND r.bucket = x.b AND r.format = x.f;
END $$;

-- ---- the list of changes ------------------------------------------------------------------------
-- The trigger functions (24_rollup_triggers.sql) note what their statement did in a temporary table
-- of the session, emptied at every commit: an engagement stored (n = 1) or removed (n = -1), or a
-- channel status stored, changed or removed (n = 0, ref = its id: its posts' formats are to be
-- derived again). pulse.rollup_apply_pending brings the rollups along and empties the list: at the
-- end of the statement, or once for the whole transaction when the writer deferred it.
CREATE OR REPLACE FUNCTION pulse.rollup_pending_ready() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF to_regclass('pg_temp.pulse_rollup_pending') IS NULL THEN
    CREATE TEMP TABLE pulse_rollup_pending (channel text, at timestamptz, kind text, account text, ref text,
                                            n integer) ON COMMIT DELETE ROWS;
  END IF;
END $$;

-- Apply the list and empty it. First the list is netted per engagement (its channel, time, kind,
-- account and post): what was stored and removed again cancels out, an engagement changed back and
-- forth too, so every engagement left with n > 0 is in the tables now and every one with n < 0 is
-- gone. Counts change by n. An account joins the set of every engagement of it left with n > 0, and
-- leaves the set of one with n < 0 unless an engagement keeps it in (a probe into its events, which
-- sees the tables as they are now). With the formats the sets were kept with
-- (pulse.rollup_post_format, new posts added first) that is exact for any list that is the
-- difference between two states of the events; posts whose format changed are moved last
-- (pulse.rollup_reformat), as from a consistent state.
-- One statement does what every list needs (account numbers, first-seen, counts, sets joined); the
-- rest runs only for what a list holds (posts seen for the first time, removals, channel statuses).
-- Hash joins on: the list is joined to itself (formats and numbers are looked up once per distinct
-- post and account, then matched to the rows), which must not be a nested loop. Generic plans from
-- the first call: the big statement takes milliseconds to plan, and PL/pgSQL would otherwise plan it
-- afresh for each of its first five calls on every connection.
CREATE OR REPLACE FUNCTION pulse.rollup_apply_pending() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  tz text := pulse.timezone();
  counting boolean := pulse.tier() <> 'timescale';   -- full TimescaleDB: continuous aggregates count
  new_channel text[];
  new_ref text[];
  rm_grain text[];          -- set keys whose net n is below zero
  rm_channel text[];
  rm_bucket timestamptz[];
  rm_format text[];
  rm_account text[];
  rm_no integer[];
  gone_channel text[];      -- the engagements removed
  gone_at timestamptz[];
  gone_account text[];
  gone_ref text[];
  own_channel text[];       -- channel statuses stored, changed or removed
  own_id text[];
BEGIN
  WITH taken AS (
    DELETE FROM pg_temp.pulse_rollup_pending RETURNING *
  ), own AS MATERIALIZED (
    SELECT DISTINCT t.channel, t.ref FROM taken t WHERE t.n = 0
  ), u AS MATERIALIZED (
    -- one row per engagement as it was and as it is: what was stored and removed again cancels out,
    -- so every row left with n > 0 is in the tables now, and every one with n < 0 is gone
    SELECT t.channel AS c, t.at AS t, t.kind AS k, t.account AS a, t.ref AS r, sum(t.n)::integer AS n,
           pulse.bucket_start('1h', t.at, tz) AS h, pulse.bucket_start('1d', t.at, tz) AS d
      FROM taken t
     WHERE t.n <> 0
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(t.n) <> 0
  ), acct AS MATERIALIZED (
    -- per channel and account: its number, its first engagement stored now, and the one on record.
    -- (Probes, LIMIT 1 keeps them so: a join the planner may hash would read the whole table.)
    SELECT x.c, x.a, x.t, an.account_no, o.first_seen_at
      FROM (SELECT u.c, u.a, min(u.t) FILTER (WHERE u.n > 0) AS t FROM u GROUP BY u.c, u.a) x
      LEFT JOIN LATERAL (SELECT an.account_no FROM pulse.account_numbers an
                          WHERE an.account_key = x.a LIMIT 1) an ON true
      LEFT JOIN LATERAL (SELECT o.first_seen_at FROM pulse.account_first_seen o   -- (by its hash index, 023)
                          WHERE o.account_key = x.a AND (o.channel = x.c) IS TRUE LIMIT 1) o ON true
  ), numbered AS (
    -- Numbers for new accounts only: ON CONFLICT alone would spend a sequence value on every known
    -- account, and the holes would make every set longer. (DO UPDATE, not NOTHING: an account a
    -- concurrent writer numbered meanwhile comes back with that number.)
    INSERT INTO pulse.account_numbers AS an (account_key)
    SELECT DISTINCT x.a FROM acct x WHERE x.account_no IS NULL ORDER BY 1
    ON CONFLICT (account_key) DO UPDATE SET account_key = excluded.account_key
    RETURNING an.account_key AS a, an.account_no
  ), nos AS (
    SELECT x.a, x.account_no FROM acct x WHERE x.account_no IS NOT NULL
    UNION ALL
    SELECT x.a, x.account_no FROM numbered x
  ), known_fmt AS MATERIALIZED (
    SELECT x.c, x.r, f.format
      FROM (SELECT DISTINCT u.c, u.r FROM u WHERE u.r IS NOT NULL) x
      LEFT JOIN LATERAL (SELECT f.format FROM pulse.rollup_post_format f
                          WHERE f.channel = x.c AND f.post_ref = x.r LIMIT 1) f ON true
  ), fresh AS (
    -- posts seen for the first time get their format (usually none: a list is about known posts).
    -- (DO UPDATE, not NOTHING: a post a concurrent writer added meanwhile comes back with its format.)
    INSERT INTO pulse.rollup_post_format AS pf (channel, post_ref, format)
    SELECT d.channel, d.post_ref, d.format
      FROM pulse.ref_formats(ARRAY(SELECT x.c FROM known_fmt x WHERE x.format IS NULL ORDER BY x.c, x.r),
                             ARRAY(SELECT x.r FROM known_fmt x WHERE x.format IS NULL ORDER BY x.c, x.r)) d
     ORDER BY 1, 2
    ON CONFLICT (channel, post_ref) DO UPDATE SET format = pf.format
    RETURNING pf.channel, pf.post_ref, pf.format
  ), fmt AS (
    SELECT x.c, x.r, x.format FROM known_fmt x WHERE x.format IS NOT NULL
    UNION ALL
    SELECT x.channel, x.post_ref, x.format FROM fresh x
  ), e AS MATERIALIZED (
    -- each engagement with its account's number and its format
    SELECT u.c, u.h, u.d, u.a, nos.account_no AS no, coalesce(f.format, '') AS f, u.n
      FROM u
      JOIN nos ON nos.a = u.a
      LEFT JOIN fmt f ON f.c = u.c AND f.r = u.r
  ), seen AS (
    -- each account's first engagement per channel (011_first_seen.sql; kpi.sessions reads it).
    -- Only accounts that are new or seen earlier than stored reach the upsert -- ON CONFLICT ...
    -- WHERE locks, and so writes, every row it meets, which would be every known account.
    INSERT INTO pulse.account_first_seen AS fs (channel, account_key, first_seen_at)
    SELECT x.c, x.a, x.t FROM acct x
     WHERE x.t IS NOT NULL AND (x.first_seen_at IS NULL OR x.t < x.first_seen_at)
     ORDER BY x.c, x.a          -- one lock order for concurrent writers
    ON CONFLICT (channel, account_key) DO UPDATE SET first_seen_at = excluded.first_seen_at
     WHERE excluded.first_seen_at < fs.first_seen_at
  ), counted AS (
    -- counts per hour and day and post (both grains in one pass; text sorted bytewise, "C": any one
    -- order serves as the lock order, and it is the cheap one)
    INSERT INTO pulse.rollup_counts AS r (grain, channel, bucket, post_ref, replies, mentions, quotes,
                                          favourites, reblogs, follows)
    SELECT CASE WHEN grouping(u.h) = 0 THEN '1h' ELSE '1d' END, u.c COLLATE "C", coalesce(u.h, u.d),
           coalesce(u.r, '') COLLATE "C",
           coalesce(sum(u.n) FILTER (WHERE u.k = 'reply'), 0),
           coalesce(sum(u.n) FILTER (WHERE u.k = 'mention'), 0),
           coalesce(sum(u.n) FILTER (WHERE u.k = 'quote'), 0),
           coalesce(sum(u.n) FILTER (WHERE u.k = 'favourite'), 0),
           coalesce(sum(u.n) FILTER (WHERE u.k = 'reblog'), 0),
           coalesce(sum(u.n) FILTER (WHERE u.k = 'follow'), 0)
      FROM u
     WHERE counting
     GROUP BY GROUPING SETS ((u.c, u.h, u.r), (u.c, u.d, u.r))
     ORDER BY 1, 2, 3, 4          -- one lock order for concurrent writers
    ON CONFLICT (grain, channel, bucket, post_ref) DO UPDATE SET
      replies = r.replies + excluded.replies, mentions = r.mentions + excluded.mentions,
      quotes = r.quotes + excluded.quotes, favourites = r.favourites + excluded.favourites,
      reblogs = r.reblogs + excluded.reblogs, follows = r.follows + excluded.follows
  ), joined AS (
    -- accounts join the sets of what they engaged in; a set is rewritten only when a bit is new.
    -- One bit string per channel, hour, day and format, OR-ed into the hour's and the day's set.
    INSERT INTO pulse.rollup_accounts AS r (grain, channel, bucket, format, accounts, n)
    SELECT x.grain, x.c, x.b, x.f, x.bits, bit_count(x.bits)
      FROM (SELECT CASE WHEN grouping(y.h) = 0 THEN '1h' ELSE '1d' END AS grain, y.c, coalesce(y.h, y.d) AS b,
                   y.f, pulse.bits_union(y.bits) AS bits
              FROM (SELECT e.c COLLATE "C" AS c, e.h, e.d, e.f COLLATE "C" AS f,
                           pulse.bits_from(array_agg(e.no)) AS bits
                      FROM e WHERE e.n > 0 GROUP BY 1, 2, 3, 4) y
             GROUP BY GROUPING SETS ((y.c, y.h, y.f), (y.c, y.d, y.f))) x
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (grain, channel, bucket, format) DO UPDATE SET
      accounts = pulse.bits_or(r.accounts, excluded.accounts),
      n = bit_count(pulse.bits_or(r.accounts, excluded.accounts))
     WHERE pulse.bits_common(r.accounts, excluded.accounts) < excluded.n
  )
  -- what the statements below need (they must see the changes above): the sets of the engagements
  -- that are gone, which their accounts leave unless one of their engagements keeps them in
  SELECT s.grain, s.c, s.b, s.f, s.a, s.no, g.c, g.t, g.a, g.r, o.c, o.id, n.c, n.r
    INTO rm_grain, rm_channel, rm_bucket, rm_format, rm_account, rm_no,
         gone_channel, gone_at, gone_account, gone_ref, own_channel, own_id, new_channel, new_ref
    FROM (SELECT array_agg(k.grain) AS grain, array_agg(k.c) AS c, array_agg(k.b) AS b, array_agg(k.f) AS f,
                 array_agg(k.a) AS a, array_agg(k.no) AS no
            FROM (SELECT DISTINCT g.grain, e.c, CASE g.grain WHEN '1h' THEN e.h ELSE e.d END AS b, e.f, e.a, e.no
                    FROM e CROSS JOIN (VALUES ('1h'), ('1d')) AS g(grain)
                   WHERE e.n < 0) k) s,
         (SELECT array_agg(u.c) AS c, array_agg(u.t) AS t, array_agg(u.a) AS a, array_agg(u.r) AS r
            FROM u WHERE u.n < 0) g,
         (SELECT array_agg(own.channel ORDER BY own.channel, own.ref) AS c,
                 array_agg(own.ref ORDER BY own.channel, own.ref) AS id FROM own) o,
         (SELECT array_agg(x.channel) AS c, array_agg(x.post_ref) AS r FROM fresh x) n;

  IF gone_channel IS NOT NULL THEN
    -- where a removed engagement may have been the account's first, recompute it
    PERFORM pulse.first_seen_forget(gone_channel, gone_account, gone_at);
    IF counting THEN
      DELETE FROM pulse.rollup_counts r
       USING (SELECT DISTINCT g.grain, u.c, pulse.bucket_start(g.grain, u.t, tz) AS b, coalesce(u.r, '') AS r
                FROM unnest(gone_channel, gone_at, gone_ref) AS u(c, t, r)
               CROSS JOIN (VALUES ('1h'), ('1d')) AS g(grain)) k
       WHERE r.grain = k.grain AND r.channel = k.c AND r.bucket = k.b AND r.post_ref = k.r
         AND r.replies = 0 AND r.mentions = 0 AND r.quotes = 0 AND r.favourites = 0 AND r.reblogs = 0
         AND r.follows = 0;
    END IF;
  END IF;
  IF rm_grain IS NOT NULL THEN
    PERFORM pulse.rollup_sets_remove(rm_grain, rm_channel, rm_bucket, rm_format, rm_account, rm_no, tz);
  END IF;
  IF own_channel IS NOT NULL THEN
    -- (the posts that just got their format have it from the statuses as they are now)
    PERFORM pulse.rollup_reformat(own_channel, own_id, new_channel, new_ref);
  END IF;
END $$;

-- Channel statuses were stored, changed or removed: re-derive the format of those posts (and of the
-- channel's statuses in their threads); where it changed, move the engagements' accounts.
DROP FUNCTION IF EXISTS pulse.rollup_reformat(text[], text[]);   -- now with the posts to leave out
CREATE OR REPLACE FUNCTION pulse.rollup_reformat(p_channel text[], p_ids text[], p_skip_channel text[] DEFAULT NULL,
                                                 p_skip_id text[] DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
  c_channel text[];
  c_ref text[];
  m_channel text[];
  m_ref text[];
  m_old text[];
  m_new text[];
  tz text;
  e record;
BEGIN
  -- the posts among them and the channel's statuses in their threads that have engagements (a row in
  -- pulse.rollup_post_format); the thread through its index ("IS TRUE" keeps the planner off
  -- statuses_own_idx, which would mean reading every channel status)
  SELECT array_agg(o.channel ORDER BY o.channel, o.post_ref), array_agg(o.post_ref ORDER BY o.channel, o.post_ref)
    INTO c_channel, c_ref
    FROM (SELECT u.c, u.id FROM unnest(p_channel, p_ids) AS u(c, id)
          UNION
          SELECT s.channel, s.status_id
            FROM unnest(p_channel, p_ids) AS u(c, id)
            JOIN pulse.statuses s ON s.channel = u.c AND s.thread_root_id = u.id AND (s.relation = 'own_post') IS TRUE
          EXCEPT
          SELECT k.c, k.id FROM unnest(p_skip_channel, p_skip_id) AS k(c, id)) x
    JOIN pulse.rollup_post_format o ON o.channel = x.c AND o.post_ref = x.id;
  IF c_ref IS NULL THEN
    RETURN;
  END IF;
  WITH moved AS (
    UPDATE pulse.rollup_post_format f SET format = x.fmt
      FROM (SELECT o.channel, o.post_ref, o.format AS old, d.format AS fmt
              FROM pulse.ref_formats(c_channel, c_ref) d
              JOIN pulse.rollup_post_format o ON o.channel = d.channel AND o.post_ref = d.post_ref) x
     WHERE f.channel = x.channel AND f.post_ref = x.post_ref AND x.fmt <> x.old
    RETURNING f.channel, f.post_ref, x.old, x.fmt
  )
  SELECT array_agg(channel), array_agg(post_ref), array_agg(old), array_agg(fmt)
    INTO m_channel, m_ref, m_old, m_new FROM moved;
  IF m_ref IS NULL THEN
    RETURN;
  END IF;
  tz := pulse.timezone();
  -- a new statement: the probes in rollup_sets_remove see the formats just written
  SELECT array_agg(g.grain) AS grain, array_agg(m.c) AS c, array_agg(pulse.bucket_start(g.grain, x.occurred_at, tz)) AS b,
         array_agg(m.o) AS old, array_agg(m.n) AS new, array_agg(x.account_key) AS a, array_agg(an.account_no) AS no
    INTO e
    FROM unnest(m_channel, m_ref, m_old, m_new) AS m(c, r, o, n)
   CROSS JOIN LATERAL pulse.ref_engagements(m.c, m.r) x
    JOIN pulse.account_numbers an ON an.account_key = x.account_key
   CROSS JOIN (VALUES ('1h'), ('1d')) AS g(grain);
  IF e.c IS NOT NULL THEN
    PERFORM pulse.rollup_sets_remove(e.grain, e.c, e.b, e.old, e.a, e.no, tz);
    PERFORM pulse.rollup_sets_add(e.grain, e.c, e.b, e.new, e.a);
  END IF;
END $$;

-- After the format map changed (migrate): every post whose format differs moves.
CREATE OR REPLACE FUNCTION pulse.rollup_reformat_all() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
BEGIN
  PERFORM pulse.rollup_flush();   -- the sets must hold every event first (a deferring writer's, too)
  FOR r IN SELECT f.channel, array_agg(f.post_ref) AS refs
             FROM pulse.ref_formats(ARRAY(SELECT channel FROM pulse.rollup_post_format ORDER BY 1, post_ref),
                                    ARRAY(SELECT post_ref FROM pulse.rollup_post_format ORDER BY channel, 1)) d
             JOIN pulse.rollup_post_format f ON f.channel = d.channel AND f.post_ref = d.post_ref
            WHERE f.format <> d.format GROUP BY f.channel LOOP
    PERFORM pulse.rollup_reformat(array_fill(r.channel, ARRAY[cardinality(r.refs)]), r.refs);
  END LOOP;
END $$;

-- ---- deferring to one call per transaction -------------------------------------------------------
-- A writer that changes the events with several statements in one transaction (the sink: deletes,
-- statuses, thread placements, interactions) may call pulse.rollup_defer() first and MUST call
-- pulse.rollup_flush() after its last statement, before it commits: the triggers in between only
-- note their rows, and the flush applies the net change of them all at once. What is still noted at
-- the commit is lost (the list empties itself), so the rollups would miss it: the sink sends the
-- flush in the same message as its statements. Until the flush the rollups lag the events in that
-- transaction only; no other transaction sees it. Writers that do not defer are kept at the end of
-- each statement.
CREATE OR REPLACE FUNCTION pulse.rollup_deferred() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('pulse.rollup_deferred', true) = 'on', false)
$$;

CREATE OR REPLACE FUNCTION pulse.rollup_defer() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF pulse.rollup_deferred() THEN
    RETURN;
  END IF;
  PERFORM pulse.rollup_pending_ready();
  PERFORM set_config('pulse.rollup_deferred', 'on', true);
END $$;

CREATE OR REPLACE FUNCTION pulse.rollup_flush() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF pulse.rollup_deferred() THEN
    PERFORM set_config('pulse.rollup_deferred', 'off', true);
    PERFORM pulse.rollup_apply_pending();
    PERFORM pulse.responses_apply_pending();   -- the response times' notes (26_reply_responses.sql)
  END IF;
END $$;

-- ---- reading ------------------------------------------------------------------------------------
-- [p_from, p_to) cut into the pieces the rollups answer: whole local days ('1d'), whole UTC hours
-- ('1h') and, at the edges, the partial hours that only the events can answer ('raw').
CREATE OR REPLACE FUNCTION pulse.range_pieces(p_from timestamptz, p_to timestamptz, tz text)
RETURNS TABLE (grain text, piece_from timestamptz, piece_to timestamptz)
LANGUAGE plpgsql STABLE ROWS 30 AS $$   -- (a few days or hours: lets the planner probe the rollups by key)
DECLARE
  d0 timestamptz;
  d1 timestamptz;
  edges timestamptz[];
  i integer;
  a timestamptz;
  b timestamptz;
  h0 timestamptz;
  h1 timestamptz;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RETURN;
  END IF;
  d0 := pulse.bucket_start('1d', p_from, tz);
  IF d0 < p_from THEN
    d0 := pulse.bucket_end('1d', d0, tz);
  END IF;
  d1 := pulse.bucket_start('1d', p_to, tz);
  IF p_from = '-infinity' THEN
    d0 := '-infinity';
  END IF;
  IF d0 < d1 THEN
    IF d0 = '-infinity' THEN
      RETURN QUERY SELECT '1d'::text, '-infinity'::timestamptz, d1;  -- every day before d1
    ELSE
      RETURN QUERY
        SELECT '1d'::text, g::timestamp AT TIME ZONE tz, (g + interval '1 day')::timestamp AT TIME ZONE tz
          FROM generate_series((d0 AT TIME ZONE tz)::date::timestamp, (d1 AT TIME ZONE tz)::date::timestamp
                               - interval '1 day', interval '1 day') g;
    END IF;
    edges := ARRAY[p_from, d0, d1, p_to];
  ELSE
    edges := ARRAY[p_from, p_to, NULL, NULL];
  END IF;
  FOR i IN 0..1 LOOP
    a := edges[2 * i + 1];
    b := edges[2 * i + 2];
    CONTINUE WHEN a IS NULL OR a >= b OR a = '-infinity';
    h0 := date_trunc('hour', a AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    IF h0 < a THEN
      h0 := h0 + interval '1 hour';
    END IF;
    h1 := date_trunc('hour', b AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    IF h0 < h1 THEN
      RETURN QUERY SELECT '1h'::text, g, g + interval '1 hour'
                     FROM generate_series(h0, h1 - interval '1 hour', interval '1 hour') g;
      IF a < h0 THEN RETURN QUERY SELECT 'raw'::text, a, h0; END IF;
      IF h1 < b THEN RETURN QUERY SELECT 'raw'::text, h1, b; END IF;
    ELSE
      RETURN QUERY SELECT 'raw'::text, a, b;
    END IF;
  END LOOP;
END $$;

-- The engagements in [p_from, p_to), straight from the two event tables through their time
-- indexes (pulse.engagement_rows joined to a range would not push the bounds into its UNION), with
-- each account's number. For the partial hours at the edges of a range: a few minutes of events.
CREATE OR REPLACE FUNCTION pulse.raw_engagements(p_from timestamptz, p_to timestamptz, p_channel text)
RETURNS TABLE (channel text, occurred_at timestamptz, kind text, account_no integer, post_ref text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN QUERY
    SELECT s.channel, s.created_at, pulse.engagement_kind(s.relation, s.thread_root_id),
           (SELECT a.account_no FROM pulse.account_numbers a WHERE a.account_key = s.account_key),
           pulse.engagement_ref(s.relation, s.thread_root_id, s.in_reply_to_id, s.quoted_id)
      FROM pulse.statuses s
     WHERE s.created_at >= p_from AND s.created_at < p_to
       AND (p_channel IS NULL OR s.channel = p_channel)
       AND pulse.is_engagement(s.relation, s.thread_root_id)
    UNION ALL
    SELECT i.channel, i.occurred_at, i.kind,
           (SELECT a.account_no FROM pulse.account_numbers a WHERE a.account_key = i.account_key),
           i.status_id
      FROM pulse.interactions i
     WHERE i.occurred_at >= p_from AND i.occurred_at < p_to
       AND (p_channel IS NULL OR i.channel = p_channel);
END $$;

-- pulse.account_set(from, to, channel, format), which reads these sets: 29_account_sets.sql.
