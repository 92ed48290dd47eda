-- 35_accounts_daily: kpi.accounts_daily(from, to, channel, format). Re-runnable.
--
-- Distinct, new and returning accounts per local calendar day (pulse.timezone(); 23 or 25 hours on
-- DST days), for every day that overlaps [from, to). Each row is exactly what
-- kpi.summary(day_start, day_end, channel, format) gives for that whole day; the Channel overview's
-- per-day panel used to call kpi.summary once per day (7-31 calls, each a scan of its own).
--
-- One pass instead: the distinct (day, account) pairs of the whole span of days come from one scan
-- of the engagements; each active account's first engagement in scope comes from
-- pulse.account_first_seen (011_first_seen.sql) with one hash join. Then an account is returning on
-- a day when it was first seen before that day started -- the same rule kpi.summary applies per call.
-- With a format, kpi.summary also asks for an engagement on a post of that format before the day.
-- Here that splits in two: an earlier active day inside the span (known from the pairs already),
-- or one before the span (one EXISTS probe per account, not per account and day, and only for the
-- accounts first seen before the span: the others cannot have been seen on such posts either).
CREATE OR REPLACE FUNCTION kpi.accounts_daily(p_from timestamptz, p_to timestamptz,
                            p_channel text DEFAULT NULL, p_format text DEFAULT NULL)
RETURNS TABLE (day date, bucket timestamptz, distinct_accounts bigint, new_accounts bigint,
               returning_accounts bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- As kpi.summary: no JIT (compilation dwarfs the query), room to hash the active accounts, and no
-- parallel workers (the distinct step would gather and re-sort every partial result).
SET jit = off SET work_mem = '64MB' SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
  tz text := pulse.timezone();
  first_day date;
  last_day date;
  -- engagements in scope, exactly as kpi.summary builds them (the format join only when asked for)
  eng text := CASE WHEN p_format IS NULL THEN
                'pulse.engagement_rows e WHERE ($3::text IS NULL OR e.channel = $3)'
              ELSE
                'pulse.engagement_rows e JOIN pulse.own_statuses o
                   ON o.channel = e.channel AND o.status_id = e.post_ref AND o.format = $4
                 WHERE ($3::text IS NULL OR e.channel = $3)'
              END;
  -- with a format: was the account seen on such a post before the span of days ($8)?
  before_span text := CASE WHEN p_format IS NULL THEN
                        'true'
                      ELSE
                        format('s.first_seen_at < $8 AND EXISTS (
                                  SELECT 1 FROM %s AND e.account_key = s.account_key AND e.occurred_at < $8)',
                               eng)
                      END;
  -- ... or on an earlier day of the span (without a format first_seen_at alone decides)
  earlier_day text := CASE WHEN p_format IS NULL THEN 'true'
                      ELSE 's.seen_before_span OR s.first_active_day < a.day' END;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RAISE EXCEPTION 'kpi.accounts_daily: need from < to (got % .. %)', p_from, p_to
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  first_day := (p_from AT TIME ZONE tz)::date;
  -- the local day of the last instant inside the range (timestamptz counts microseconds)
  last_day := ((p_to - interval '1 microsecond') AT TIME ZONE tz)::date;
  -- EXECUTE: planned with the actual values every call, so the optional filters fold away
  RETURN QUERY EXECUTE format($q$
    WITH days AS (
      SELECT g::date AS day, (g::date)::timestamp AT TIME ZONE $5 AS day_start
        FROM generate_series($6::date, $7::date, interval '1 day') g
    ), active AS (
      SELECT DISTINCT (e.occurred_at AT TIME ZONE $5)::date AS day, e.account_key
        FROM %1$s AND e.occurred_at >= $8 AND e.occurred_at < $9
    ), firsts AS (
      -- each active account once: its first active day in the span, first seen in scope (any
      -- channel when none is given)
      SELECT x.account_key, x.first_active_day, min(f.first_seen_at) AS first_seen_at
        FROM (SELECT a.account_key, min(a.day) AS first_active_day FROM active a GROUP BY 1) x
        LEFT JOIN pulse.account_first_seen f
               ON f.account_key = x.account_key AND ($3::text IS NULL OR f.channel = $3)
       GROUP BY x.account_key, x.first_active_day
    ), seen AS (
      SELECT s.account_key, s.first_active_day, s.first_seen_at, (%2$s) AS seen_before_span
        FROM firsts s
    )
    SELECT d.day, d.day_start,
           count(a.account_key),
           count(a.account_key) - count(*) FILTER (WHERE s.first_seen_at < d.day_start AND (%3$s)),
           count(*) FILTER (WHERE s.first_seen_at < d.day_start AND (%3$s))
      FROM days d
      LEFT JOIN active a ON a.day = d.day
      LEFT JOIN seen s ON s.account_key = a.account_key
     GROUP BY d.day, d.day_start
     ORDER BY d.day$q$, eng, before_span, earlier_day)
  USING p_from, p_to, p_channel, p_format, tz, first_day, last_day,
        first_day::timestamp AT TIME ZONE tz, (last_day + 1)::timestamp AT TIME ZONE tz;
END $$;

REVOKE ALL ON FUNCTION kpi.accounts_daily(timestamptz, timestamptz, text, text) FROM PUBLIC;

COMMENT ON FUNCTION kpi.accounts_daily(timestamptz, timestamptz, text, text) IS
  'kpi.accounts_daily(from, to, channel default NULL, format default NULL): one row per local calendar day '
  '(timezone from pulse.config, Europe/Amsterdam by default; 23 or 25 hours on DST days) that overlaps '
  '[from, to), counted over the whole day, days without activity included: day, bucket (the day''s start), '
  'distinct_accounts, new_accounts, returning_accounts -- each equal to kpi.summary(day start, day end, '
  'channel, format) for that day. Distinct counts: do not add them up across days. Pseudonymous.';
