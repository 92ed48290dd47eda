-- 32_activity: kpi.activity_hourly, kpi.activity_daily, kpi.account_daily, kpi.activity(). Re-runnable.
--
-- The views read the counts per post of pulse.activity_* (continuous aggregates on full TimescaleDB,
-- pulse.rollup_counts elsewhere: 30_activity_base.sql), attach each post's format at query time
-- (pulse.rollup_post_format, kept equal to pulse.own_statuses.format by 23_rollups.sql), and take
-- distinct accounts from the bucket's account set (pulse.rollup_accounts). Favourites etc. are counted as they happened (an un-favourite later
-- does not remove the event from its bucket; kpi.post_stats has the net counts).

CREATE OR REPLACE VIEW kpi.activity_hourly AS
SELECT c.channel, c.bucket, nullif(c.format, '') AS format,
       c.replies, c.mentions, c.favourites, c.reblogs, c.quotes, c.follows,
       coalesce(a.n, 0)::bigint AS active_accounts
  FROM (SELECT x.channel, x.bucket, coalesce(f.format, '') AS format,
               sum(x.replies)::bigint     AS replies,
               sum(x.mentions)::bigint    AS mentions,
               sum(x.favourites)::bigint  AS favourites,
               sum(x.reblogs)::bigint     AS reblogs,
               sum(x.quotes)::bigint      AS quotes,
               sum(x.follows)::bigint     AS follows
          FROM (SELECT channel, bucket, post_ref, replies, mentions, quotes,
                       0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
                  FROM pulse.activity_statuses_1h
                UNION ALL
                SELECT channel, bucket, post_ref, 0, 0, 0, favourites, reblogs, follows
                  FROM pulse.activity_interactions_1h) x
          LEFT JOIN pulse.rollup_post_format f ON f.channel = x.channel AND f.post_ref = x.post_ref
         GROUP BY x.channel, x.bucket, coalesce(f.format, '')) c
  LEFT JOIN pulse.rollup_accounts a
         ON a.grain = '1h' AND a.channel = c.channel AND a.bucket = c.bucket AND a.format = c.format;

CREATE OR REPLACE VIEW kpi.activity_daily AS
SELECT c.channel, c.bucket, nullif(c.format, '') AS format,
       c.replies, c.mentions, c.favourites, c.reblogs, c.quotes, c.follows,
       coalesce(a.n, 0)::bigint AS active_accounts
  FROM (SELECT x.channel, x.bucket, coalesce(f.format, '') AS format,
               sum(x.replies)::bigint     AS replies,
               sum(x.mentions)::bigint    AS mentions,
               sum(x.favourites)::bigint  AS favourites,
               sum(x.reblogs)::bigint     AS reblogs,
               sum(x.quotes)::bigint      AS quotes,
               sum(x.follows)::bigint     AS follows
          FROM (SELECT channel, bucket, post_ref, replies, mentions, quotes,
                       0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
                  FROM pulse.activity_statuses_1d
                UNION ALL
                SELECT channel, bucket, post_ref, 0, 0, 0, favourites, reblogs, follows
                  FROM pulse.activity_interactions_1d) x
          LEFT JOIN pulse.rollup_post_format f ON f.channel = x.channel AND f.post_ref = x.post_ref
         GROUP BY x.channel, x.bucket, coalesce(f.format, '')) c
  LEFT JOIN pulse.rollup_accounts a
         ON a.grain = '1d' AND a.channel = c.channel AND a.bucket = c.bucket AND a.format = c.format;

-- Per account and day: inherently one row per account, so it reads the events (through the
-- account and time indexes when filtered); no board reads it.
CREATE OR REPLACE VIEW kpi.account_daily AS
SELECT e.channel, pulse.bucket_start('1d', e.occurred_at, pulse.timezone()) AS day, e.account_key,
       count(*) FILTER (WHERE e.kind = 'reply')      AS replies,
       count(*) FILTER (WHERE e.kind = 'mention')    AS mentions,
       count(*) FILTER (WHERE e.kind = 'favourite')  AS favourites,
       count(*) FILTER (WHERE e.kind = 'reblog')     AS reblogs,
       count(*) FILTER (WHERE e.kind = 'quote')      AS quotes,
       count(*) FILTER (WHERE e.kind = 'follow')     AS follows
  FROM pulse.engagement_rows e
 GROUP BY 1, 2, 3;

-- Any period, any range, straight from the events (exact at the range edges; used by the export).
-- For period hour/day and whole buckets it equals kpi.activity_hourly / kpi.activity_daily.
CREATE OR REPLACE FUNCTION kpi.activity(p_from timestamptz, p_to timestamptz,
                                        p_period text DEFAULT 'day', p_channel text DEFAULT NULL)
RETURNS TABLE (channel text, bucket timestamptz, format text, replies bigint, mentions bigint,
               favourites bigint, reblogs bigint, quotes bigint, follows bigint,
               active_accounts bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- JIT: the lateral per-post parts are costed high, and ~1 s of compilation dwarfs the query itself
SET jit = off AS $$
DECLARE
  tz text := pulse.timezone();
BEGIN
  IF p_period IS NULL OR p_period NOT IN ('hour', 'day', 'week') THEN
    RAISE EXCEPTION 'kpi.activity: period must be hour, day or week, not %', coalesce(p_period, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Output buckets clipped to [from, to), each cut into rollup pieces (whole days, whole hours) and
  -- raw edges (partial hours, from the events); counts add up over the pieces, account sets OR.
  -- EXECUTE: planned for the actual range every call (dashboards ask for very different ranges).
  RETURN QUERY EXECUTE $q$
    WITH buckets AS (
      -- local (UTC for hours) wall-clock steps, so that DST days are 23 or 25 hours long
      SELECT g AT TIME ZONE k.z AS bucket, greatest(g AT TIME ZONE k.z, $1) AS clip_from,
             least((g + k.st) AT TIME ZONE k.z, $2) AS clip_to
        FROM (SELECT CASE $3 WHEN 'hour' THEN 'UTC' ELSE $5 END AS z,
                     CASE $3 WHEN 'hour' THEN interval '1 hour' WHEN 'day' THEN interval '1 day'
                             ELSE interval '7 days' END AS st) k
       CROSS JOIN LATERAL generate_series(date_trunc($3, $1 AT TIME ZONE k.z),
                                          ($2 - interval '1 microsecond') AT TIME ZONE k.z, k.st) g
    ), pieces AS (
      SELECT bk.bucket, p.grain, p.piece_from, p.piece_to
        FROM buckets bk CROSS JOIN LATERAL pulse.range_pieces(bk.clip_from, bk.clip_to, $5) p
    ), raw AS (
      -- the partial hours at the edges, from the events (through their time indexes)
      SELECT p.bucket, e.* FROM pieces p
       CROSS JOIN LATERAL pulse.raw_engagements(p.piece_from, p.piece_to, $4) e
       WHERE p.grain = 'raw'
    ), counted AS (
      SELECT p.bucket, x.channel, x.post_ref, x.replies, x.mentions, x.quotes,
             0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
        FROM pieces p JOIN pulse.activity_statuses_1h x ON p.grain = '1h' AND x.bucket = p.piece_from
      UNION ALL
      SELECT p.bucket, x.channel, x.post_ref, x.replies, x.mentions, x.quotes, 0, 0, 0
        FROM pieces p JOIN pulse.activity_statuses_1d x ON p.grain = '1d' AND x.bucket = p.piece_from
      UNION ALL
      SELECT p.bucket, x.channel, x.post_ref, 0, 0, 0, x.favourites, x.reblogs, x.follows
        FROM pieces p JOIN pulse.activity_interactions_1h x ON p.grain = '1h' AND x.bucket = p.piece_from
      UNION ALL
      SELECT p.bucket, x.channel, x.post_ref, 0, 0, 0, x.favourites, x.reblogs, x.follows
        FROM pieces p JOIN pulse.activity_interactions_1d x ON p.grain = '1d' AND x.bucket = p.piece_from
      UNION ALL
      SELECT e.bucket, e.channel, e.post_ref,
             (e.kind = 'reply')::int, (e.kind = 'mention')::int, (e.kind = 'quote')::int,
             (e.kind = 'favourite')::int, (e.kind = 'reblog')::int, (e.kind = 'follow')::int
        FROM raw e
    ), counts AS (
      SELECT c.bucket, c.channel, coalesce(f.format, '') AS format,
             sum(c.replies)::bigint AS replies, sum(c.mentions)::bigint AS mentions,
             sum(c.favourites)::bigint AS favourites, sum(c.reblogs)::bigint AS reblogs,
             sum(c.quotes)::bigint AS quotes, sum(c.follows)::bigint AS follows
        FROM counted c
        LEFT JOIN pulse.rollup_post_format f ON f.channel = c.channel AND f.post_ref = c.post_ref
       WHERE ($4::text IS NULL OR c.channel = $4)
       GROUP BY 1, 2, 3
    ), sets AS (
      SELECT p.bucket, r.channel, r.format, r.accounts
        FROM pieces p JOIN pulse.rollup_accounts r
          ON r.grain = p.grain AND r.bucket = p.piece_from
       WHERE ($4::text IS NULL OR r.channel = $4)
      UNION ALL
      SELECT e.bucket, e.channel, coalesce(f.format, ''), pulse.bits_from(array_agg(e.account_no))
        FROM raw e
        LEFT JOIN pulse.rollup_post_format f ON f.channel = e.channel AND f.post_ref = e.post_ref
       GROUP BY 1, 2, 3
    ), accounts AS (
      -- the built-in bit_or per length first, then the few lengths with pulse.bits_union (23_rollups.sql)
      SELECT g.bucket, g.channel, g.format, bit_count(pulse.bits_union(g.accounts)) AS n
        FROM (SELECT s.bucket, s.channel, s.format, bit_or(s.accounts) AS accounts
                FROM sets s GROUP BY s.bucket, s.channel, s.format, length(s.accounts)) g
       GROUP BY 1, 2, 3
    )
    SELECT c.channel, c.bucket, nullif(c.format, ''), c.replies, c.mentions, c.favourites, c.reblogs,
           c.quotes, c.follows, coalesce(a.n, 0)
      FROM counts c
      LEFT JOIN accounts a ON a.bucket = c.bucket AND a.channel = c.channel AND a.format = c.format
     WHERE c.replies + c.mentions + c.favourites + c.reblogs + c.quotes + c.follows > 0
     ORDER BY 2, 1, 3 NULLS FIRST$q$
  USING p_from, p_to, p_period, p_channel, tz;
END $$;

COMMENT ON VIEW kpi.activity_hourly IS
  'Engagement per channel, clock hour and format. Hours are UTC clock hours, which are the local hours in '
  'Europe/Amsterdam and every other whole-hour offset. On full TimescaleDB a real-time continuous aggregate. '
  'Pseudonymous. active_accounts is a distinct count: do not add it up across rows.';
COMMENT ON VIEW kpi.activity_daily IS
  'Engagement per channel, local calendar day (timezone from pulse.config, Europe/Amsterdam by default; 23 or 25 '
  'hours on DST days) and format. On full TimescaleDB a real-time continuous aggregate. Pseudonymous. '
  'active_accounts is a distinct count: do not add it up across rows.';
COMMENT ON VIEW kpi.account_daily IS
  'Per-account daily rollup: what each (pseudonymous) account did per channel and local calendar day.';
COMMENT ON FUNCTION kpi.activity(timestamptz, timestamptz, text, text) IS
  'kpi.activity(from, to, period default ''day'', channel default NULL): the activity columns per channel, bucket '
  '(period hour = UTC clock hour, day = local calendar day, week = local ISO week from Monday) and format, over '
  'the events in [from, to) exactly. Same columns as kpi.activity_daily.';

DO $$
DECLARE
  v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['activity_hourly', 'activity_daily'] LOOP
    EXECUTE format($c$
      COMMENT ON COLUMN kpi.%1$I.channel IS 'Configured name of the city account (channel).';
      COMMENT ON COLUMN kpi.%1$I.bucket IS 'Start of the bucket (timestamptz).';
      COMMENT ON COLUMN kpi.%1$I.format IS 'Format of the post the engagement is about (replies: of their thread''s root post); NULL when it is about no known post (follows, mentions outside threads).';
      COMMENT ON COLUMN kpi.%1$I.replies IS 'Statuses by other accounts inside the channel''s threads (or replying to a channel status).';
      COMMENT ON COLUMN kpi.%1$I.mentions IS 'Statuses mentioning the channel outside its threads.';
      COMMENT ON COLUMN kpi.%1$I.favourites IS 'Favourites (likes) of channel statuses, as they happened.';
      COMMENT ON COLUMN kpi.%1$I.reblogs IS 'Reblogs (boosts) of channel statuses, as they happened.';
      COMMENT ON COLUMN kpi.%1$I.quotes IS 'Statuses quoting a channel status (outside its threads).';
      COMMENT ON COLUMN kpi.%1$I.follows IS 'New followers of the channel.';
      COMMENT ON COLUMN kpi.%1$I.active_accounts IS 'Distinct accounts other than the channel''s with any engagement in the bucket and format.';
    $c$, v);
  END LOOP;
END $$;

COMMENT ON COLUMN kpi.account_daily.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.account_daily.day IS 'Start of the local calendar day (timestamptz).';
COMMENT ON COLUMN kpi.account_daily.account_key IS 'Pseudonymous key of the account: hex HMAC-SHA256(account URI, PULSE_ACCOUNT_SALT).';
COMMENT ON COLUMN kpi.account_daily.replies IS 'Replies by the account that day.';
COMMENT ON COLUMN kpi.account_daily.mentions IS 'Mentions of the channel outside threads by the account that day.';
COMMENT ON COLUMN kpi.account_daily.favourites IS 'Favourites by the account that day.';
COMMENT ON COLUMN kpi.account_daily.reblogs IS 'Reblogs by the account that day.';
COMMENT ON COLUMN kpi.account_daily.quotes IS 'Quotes by the account that day.';
COMMENT ON COLUMN kpi.account_daily.follows IS 'Follows of the channel by the account that day.';
