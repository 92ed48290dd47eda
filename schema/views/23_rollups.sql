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
-- otherwise. The functions are SECURITY DEFINER so the writer needs no rights on the rollups.

-- ---- bit sets ------------------------------------------------------------------------------------
-- A set of account numbers as a bit string, bit n = account number n. Sets grow as accounts are
-- numbered, so two sets may differ in length: the missing tail is all zeros.
-- (PL/pgSQL here and below where a function runs a query: its plan is kept for the session, where
-- a non-inlined SQL function would be planned again at every call.)
-- Sets are padded with zeros to a whole number of 8,192-bit blocks, so that all sets of one
-- channel's history have one of a few lengths: reading ORs each group of equal length with the
-- built-in bit_or (fast, but it needs equal lengths) and only the group results with pulse.bits_or.
CREATE OR REPLACE FUNCTION pulse.bits_from(ns integer[]) RETURNS bit varying
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN (SELECT coalesce((string_agg(repeat('0', x.n - coalesce(x.p, -1) - 1) || '1', '' ORDER BY x.n)
                           || repeat('0', 8191 - max(x.n) % 8192))::bit varying,
                          B'')
            FROM (SELECT d.n, lag(d.n) OVER (ORDER BY d.n) AS p
                    FROM (SELECT DISTINCT u.n FROM unnest(ns) AS u(n) WHERE u.n IS NOT NULL) d) x);
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
CREATE OR REPLACE FUNCTION pulse.ref_formats(p_channel text[], p_ref text[])
RETURNS TABLE (channel text, post_ref text, format text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
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
    LEFT JOIN LATERAL (SELECT x.status_id, x.tags
                         FROM pulse.statuses x
                        WHERE x.channel = s.channel AND x.status_id = s.root
                          AND x.relation = 'own_post' AND x.in_reply_to_id IS NULL
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
-- Counts per hour and day and post, added (sign 1) or taken away (sign -1). Below full TimescaleDB
-- only: there the continuous aggregates count.
CREATE OR REPLACE FUNCTION pulse.rollup_count(p_channel text[], p_at timestamptz[], p_kind text[],
                                              p_ref text[], p_sign integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tz text := pulse.timezone();
BEGIN
  INSERT INTO pulse.rollup_counts AS r (grain, channel, bucket, post_ref, replies, mentions, quotes,
                                        favourites, reblogs, follows)
  SELECT g.grain, u.c, pulse.bucket_start(g.grain, u.t, tz), coalesce(u.r, ''),
         p_sign * count(*) FILTER (WHERE u.k = 'reply'),
         p_sign * count(*) FILTER (WHERE u.k = 'mention'),
         p_sign * count(*) FILTER (WHERE u.k = 'quote'),
         p_sign * count(*) FILTER (WHERE u.k = 'favourite'),
         p_sign * count(*) FILTER (WHERE u.k = 'reblog'),
         p_sign * count(*) FILTER (WHERE u.k = 'follow')
    FROM unnest(p_channel, p_at, p_kind, p_ref) AS u(c, t, k, r)
   CROSS JOIN (VALUES ('1h'), ('1d')) AS g(grain)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4          -- one lock order for concurrent writers
  ON CONFLICT (grain, channel, bucket, post_ref) DO UPDATE SET
    replies = r.replies + excluded.replies, mentions = r.mentions + excluded.mentions,
    quotes = r.quotes + excluded.quotes, favourites = r.favourites + excluded.favourites,
    reblogs = r.reblogs + excluded.reblogs, follows = r.follows + excluded.follows;
  IF p_sign < 0 THEN
    DELETE FROM pulse.rollup_counts r
     USING (SELECT DISTINCT g.grain, u.c, pulse.bucket_start(g.grain, u.t, tz) AS b, coalesce(u.r, '') AS r
              FROM unnest(p_channel, p_at, p_ref) AS u(c, t, r)
             CROSS JOIN (VALUES ('1h'), ('1d')) AS g(grain)) k
     WHERE r.grain = k.grain AND r.channel = k.c AND r.bucket = k.b AND r.post_ref = k.r
       AND r.replies = 0 AND r.mentions = 0 AND r.quotes = 0 AND r.favourites = 0 AND r.reblogs = 0
       AND r.follows = 0;
  END IF;
END $$;

-- Accounts join the hour and day sets of the given formats. A set is rewritten only when a bit is new.
CREATE OR REPLACE FUNCTION pulse.rollup_sets_add(p_channel text[], p_at timestamptz[], p_account text[],
                                                 p_format text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tz text := pulse.timezone();
BEGIN
  INSERT INTO pulse.rollup_accounts AS r (grain, channel, bucket, format, accounts, n)
  SELECT x.grain, x.c, x.b, x.f, x.bits, bit_count(x.bits)
    FROM (SELECT g.grain, u.c, pulse.bucket_start(g.grain, u.t, tz) AS b, u.f,
                 pulse.bits_from(array_agg(a.account_no)) AS bits
            FROM unnest(p_channel, p_at, p_account, p_format) AS u(c, t, k, f)
            JOIN pulse.account_numbers a ON a.account_key = u.k
           CROSS JOIN (VALUES ('1h'), ('1d')) AS g(grain)
           GROUP BY 1, 2, 3, 4) x
   ORDER BY 1, 2, 3, 4
  ON CONFLICT (grain, channel, bucket, format) DO UPDATE SET
    accounts = pulse.bits_or(r.accounts, excluded.accounts),
    n = bit_count(pulse.bits_or(r.accounts, excluded.accounts))
   WHERE pulse.bits_common(r.accounts, excluded.accounts) < excluded.n;
END $$;

-- Accounts leave the sets of the given formats, unless another engagement keeps them in.
CREATE OR REPLACE FUNCTION pulse.rollup_sets_remove(p_channel text[], p_at timestamptz[], p_account text[],
                                                    p_format text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  tz text := pulse.timezone();
BEGIN
  UPDATE pulse.rollup_accounts r
     SET accounts = pulse.bits_minus(r.accounts, x.bits), n = bit_count(pulse.bits_minus(r.accounts, x.bits))
    FROM (SELECT c.grain, c.ch, c.b, c.f, pulse.bits_from(array_agg(a.account_no)) AS bits
            FROM (SELECT DISTINCT g.grain, u.c AS ch, pulse.bucket_start(g.grain, u.t, tz) AS b, u.f, u.k
                    FROM unnest(p_channel, p_at, p_account, p_format) AS u(c, t, k, f)
                   CROSS JOIN (VALUES ('1h'), ('1d')) AS g(grain)) c
            JOIN pulse.account_numbers a ON a.account_key = c.k
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

-- Engagements were stored.
CREATE OR REPLACE FUNCTION pulse.rollup_add(p_channel text[], p_at timestamptz[], p_kind text[],
                                            p_account text[], p_ref text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  new_channel text[];
  new_ref text[];
  formats text[];
BEGIN
  -- Numbers for new accounts only: ON CONFLICT alone would spend a sequence value on every known
  -- account, and the holes would make every set longer.
  INSERT INTO pulse.account_numbers (account_key)
  SELECT DISTINCT u.k FROM unnest(p_account) AS u(k)
   WHERE NOT EXISTS (SELECT 1 FROM pulse.account_numbers a WHERE a.account_key = u.k)
   ORDER BY 1
  ON CONFLICT DO NOTHING;
  -- each account's first engagement per channel (011_first_seen.sql; kpi.sessions reads it): kept
  -- here, in the same trigger call, instead of by triggers of its own
  PERFORM pulse.first_seen_note(p_channel, p_account, p_at);
  -- posts seen for the first time get their format (usually none: a batch is about known posts)
  SELECT array_agg(d.c ORDER BY d.c, d.r), array_agg(d.r ORDER BY d.c, d.r) INTO new_channel, new_ref
    FROM (SELECT DISTINCT u.c, u.r FROM unnest(p_channel, p_ref) AS u(c, r) WHERE u.r IS NOT NULL) d
   WHERE NOT EXISTS (SELECT 1 FROM pulse.rollup_post_format f WHERE f.channel = d.c AND f.post_ref = d.r);
  IF new_ref IS NOT NULL THEN
    INSERT INTO pulse.rollup_post_format (channel, post_ref, format)
    SELECT x.channel, x.post_ref, x.format FROM pulse.ref_formats(new_channel, new_ref) x
     ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
  END IF;
  IF pulse.tier() <> 'timescale' THEN
    PERFORM pulse.rollup_count(p_channel, p_at, p_kind, p_ref, 1);
  END IF;
  formats := pulse.rollup_formats_of(p_channel, p_ref);
  PERFORM pulse.rollup_sets_add(p_channel, p_at, p_account, formats);
END $$;

-- Engagements were removed (they are no longer in the tables).
CREATE OR REPLACE FUNCTION pulse.rollup_remove(p_channel text[], p_at timestamptz[], p_kind text[],
                                               p_account text[], p_ref text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.first_seen_forget(p_channel, p_account, p_at);
  IF pulse.tier() <> 'timescale' THEN
    PERFORM pulse.rollup_count(p_channel, p_at, p_kind, p_ref, -1);
  END IF;
  PERFORM pulse.rollup_sets_remove(p_channel, p_at, p_account, pulse.rollup_formats_of(p_channel, p_ref));
END $$;

-- The format each engagement counts under, in the order given ('' for no post or no format):
-- one probe per distinct post of the batch, not per engagement.
CREATE OR REPLACE FUNCTION pulse.rollup_formats_of(p_channel text[], p_ref text[]) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN (WITH refs AS (
    SELECT d.c, d.r, f.format
      FROM (SELECT DISTINCT u.c, u.r FROM unnest(p_channel, p_ref) AS u(c, r) WHERE u.r IS NOT NULL) d
      LEFT JOIN pulse.rollup_post_format f ON f.channel = d.c AND f.post_ref = d.r
  )
  SELECT array_agg(coalesce(x.format, '') ORDER BY u.i)
    FROM unnest(p_channel, p_ref) WITH ORDINALITY AS u(c, r, i)
    LEFT JOIN refs x ON x.c = u.c AND x.r = u.r);
END $$;

-- Channel statuses were stored, changed or removed: re-derive the format of those posts (and of the
-- channel's statuses in their threads); where it changed, move the engagements' accounts.
CREATE OR REPLACE FUNCTION pulse.rollup_reformat(p_channel text[], p_ids text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m_channel text[];
  m_ref text[];
  m_old text[];
  m_new text[];
  e_channel text[];
  e_at timestamptz[];
  e_account text[];
  e_old text[];
  e_new text[];
BEGIN
  WITH cand AS (
    SELECT u.c, u.id FROM unnest(p_channel, p_ids) AS u(c, id)
    UNION
    -- the channel's statuses in these threads, through the thread index ("IS TRUE" keeps the
    -- planner off statuses_own_idx, which would mean reading every channel status)
    SELECT s.channel, s.status_id
      FROM unnest(p_channel, p_ids) AS u(c, id)
      JOIN pulse.statuses s ON s.channel = u.c AND s.thread_root_id = u.id AND (s.relation = 'own_post') IS TRUE
  ), moved AS (
    UPDATE pulse.rollup_post_format f SET format = x.fmt
      FROM (SELECT o.channel, o.post_ref, o.format AS old, d.format AS fmt
              FROM pulse.ref_formats(ARRAY(SELECT c FROM cand ORDER BY c, id), ARRAY(SELECT id FROM cand ORDER BY c, id)) d
              JOIN pulse.rollup_post_format o ON o.channel = d.channel AND o.post_ref = d.post_ref) x
     WHERE f.channel = x.channel AND f.post_ref = x.post_ref AND x.fmt <> x.old
    RETURNING f.channel, f.post_ref, x.old, x.fmt
  )
  SELECT array_agg(channel), array_agg(post_ref), array_agg(old), array_agg(fmt)
    INTO m_channel, m_ref, m_old, m_new FROM moved;
  IF m_ref IS NULL THEN
    RETURN;
  END IF;
  -- a new statement: the probes in rollup_sets_remove see the formats just written
  SELECT array_agg(m.c), array_agg(e.occurred_at), array_agg(e.account_key), array_agg(m.o), array_agg(m.n)
    INTO e_channel, e_at, e_account, e_old, e_new
    FROM unnest(m_channel, m_ref, m_old, m_new) AS m(c, r, o, n)
   CROSS JOIN LATERAL pulse.ref_engagements(m.c, m.r) e;
  IF e_channel IS NOT NULL THEN
    PERFORM pulse.rollup_sets_remove(e_channel, e_at, e_account, e_old);
    PERFORM pulse.rollup_sets_add(e_channel, e_at, e_account, e_new);
  END IF;
END $$;

-- After the format map changed (migrate): every post whose format differs moves.
CREATE OR REPLACE FUNCTION pulse.rollup_reformat_all() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT f.channel, array_agg(f.post_ref) AS refs
             FROM pulse.ref_formats(ARRAY(SELECT channel FROM pulse.rollup_post_format ORDER BY 1, post_ref),
                                    ARRAY(SELECT post_ref FROM pulse.rollup_post_format ORDER BY channel, 1)) d
             JOIN pulse.rollup_post_format f ON f.channel = d.channel AND f.post_ref = d.post_ref
            WHERE f.format <> d.format GROUP BY f.channel LOOP
    PERFORM pulse.rollup_reformat(array_fill(r.channel, ARRAY[cardinality(r.refs)]), r.refs);
  END LOOP;
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
