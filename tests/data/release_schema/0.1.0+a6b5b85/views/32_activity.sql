-- 32_activity: kpi.activity_hourly, kpi.activity_daily, kpi.account_daily, kpi.activity(). Re-runnable.
--
-- The views read pulse.activity_* (continuous aggregates on full TimescaleDB, ordinary views
-- elsewhere: 30_activity_base.sql) and attach each engagement's format through the channel status
-- it is about, at query time. Favourites etc. are counted as they happened (an un-favourite later
-- does not remove the event from its bucket; kpi.post_stats has the net counts).

CREATE OR REPLACE VIEW kpi.activity_hourly AS
SELECT a.channel, a.bucket, o.format,
       sum(a.replies)::bigint     AS replies,
       sum(a.mentions)::bigint    AS mentions,
       sum(a.favourites)::bigint  AS favourites,
       sum(a.reblogs)::bigint     AS reblogs,
       sum(a.quotes)::bigint      AS quotes,
       sum(a.follows)::bigint     AS follows,
       count(DISTINCT a.account_key) AS active_accounts
  FROM (SELECT channel, bucket, account_key, post_ref, replies, mentions, quotes,
               0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
          FROM pulse.activity_statuses_1h
        UNION ALL
        SELECT channel, bucket, account_key, post_ref, 0, 0, 0, favourites, reblogs, follows
          FROM pulse.activity_interactions_1h) a
  LEFT JOIN pulse.own_statuses o ON o.channel = a.channel AND o.status_id = a.post_ref
 GROUP BY a.channel, a.bucket, o.format;

CREATE OR REPLACE VIEW kpi.activity_daily AS
SELECT a.channel, a.bucket, o.format,
       sum(a.replies)::bigint     AS replies,
       sum(a.mentions)::bigint    AS mentions,
       sum(a.favourites)::bigint  AS favourites,
       sum(a.reblogs)::bigint     AS reblogs,
       sum(a.quotes)::bigint      AS quotes,
       sum(a.follows)::bigint     AS follows,
       count(DISTINCT a.account_key) AS active_accounts
  FROM (SELECT channel, bucket, account_key, post_ref, replies, mentions, quotes,
               0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
          FROM pulse.activity_statuses_1d
        UNION ALL
        SELECT channel, bucket, account_key, post_ref, 0, 0, 0, favourites, reblogs, follows
          FROM pulse.activity_interactions_1d) a
  LEFT JOIN pulse.own_statuses o ON o.channel = a.channel AND o.status_id = a.post_ref
 GROUP BY a.channel, a.bucket, o.format;

CREATE OR REPLACE VIEW kpi.account_daily AS
SELECT a.channel, a.bucket AS day, a.account_key,
       sum(a.replies)::bigint     AS replies,
       sum(a.mentions)::bigint    AS mentions,
       sum(a.favourites)::bigint  AS favourites,
       sum(a.reblogs)::bigint     AS reblogs,
       sum(a.quotes)::bigint      AS quotes,
       sum(a.follows)::bigint     AS follows
  FROM (SELECT channel, bucket, account_key, replies, mentions, quotes,
               0::bigint AS favourites, 0::bigint AS reblogs, 0::bigint AS follows
          FROM pulse.activity_statuses_1d
        UNION ALL
        SELECT channel, bucket, account_key, 0, 0, 0, favourites, reblogs, follows
          FROM pulse.activity_interactions_1d) a
 GROUP BY a.channel, a.bucket, a.account_key;

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
  -- EXECUTE: planned for the actual range every call (dashboards ask for very different ranges)
  RETURN QUERY EXECUTE $q$
    SELECT e.channel,
           CASE $3 WHEN 'hour' THEN date_trunc('hour', e.occurred_at, 'UTC')
                   ELSE date_trunc($3, e.occurred_at, $5) END AS bucket,
           o.format,
           count(*) FILTER (WHERE e.kind = 'reply'),
           count(*) FILTER (WHERE e.kind = 'mention'),
           count(*) FILTER (WHERE e.kind = 'favourite'),
           count(*) FILTER (WHERE e.kind = 'reblog'),
           count(*) FILTER (WHERE e.kind = 'quote'),
           count(*) FILTER (WHERE e.kind = 'follow'),
           count(DISTINCT e.account_key)
      FROM pulse.engagement_rows e
      LEFT JOIN pulse.own_statuses o ON o.channel = e.channel AND o.status_id = e.post_ref
     WHERE e.occurred_at >= $1 AND e.occurred_at < $2
       AND ($4::text IS NULL OR e.channel = $4)
     GROUP BY 1, 2, 3
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
