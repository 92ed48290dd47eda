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
-- Measured (bench/kpi.py --scale 0.05, 250k engagements, plain PostgreSQL 15, channel ams): the
-- 31-day panel went from 1.3 s (2.0 s with a format) to 0.24 s (0.31 s).
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
  -- when each account was first seen in scope: one row per account of the channel, or the
  -- earliest over all channels when none is given
  seen text := CASE WHEN p_channel IS NULL THEN
                 '(SELECT f.account_key, min(f.first_seen_at) AS first_seen_at
                     FROM pulse.account_first_seen f GROUP BY f.account_key)'
               ELSE
                 '(SELECT f.account_key, f.first_seen_at FROM pulse.account_first_seen f WHERE f.channel = $3)'
               END;
  -- returning on an account's first active day of the span: without a format, first_seen_at alone
  -- decides; with one, it needs an engagement on such a post before the span ($8)
  before_span text := CASE WHEN p_format IS NULL THEN
                        'true'
                      ELSE
                        format('p.first_seen_at < $8 AND EXISTS (
                                  SELECT 1 FROM %s AND e.account_key = p.account_key AND e.occurred_at < $8)',
                               eng)
                      END;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RAISE EXCEPTION 'kpi.accounts_daily: need from < to (got % .. %)', p_from, p_to
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  first_day := (p_from AT TIME ZONE tz)::date;
  -- the local day of the last instant inside the range (timestamptz counts microseconds)
  last_day := ((p_to - interval '1 microsecond') AT TIME ZONE tz)::date;
  -- EXECUTE: planned with the actual values every call, so the optional filters fold away.
  -- The planner cannot estimate the format join (it guesses a handful of rows for thousands), so
  -- the query joins nothing to its own intermediate results: one hash join of the active pairs to
  -- first-seen, window functions per account, and the days joined only to per-day counts.
  RETURN QUERY EXECUTE format($q$
    WITH pairs AS (
      SELECT a.day, a.account_key, f.first_seen_at,
             min(a.day) OVER (PARTITION BY a.account_key) AS first_active_day
        FROM (SELECT DISTINCT (e.occurred_at AT TIME ZONE $5)::date AS day, e.account_key
                FROM %1$s AND e.occurred_at >= $8 AND e.occurred_at < $9) a
        LEFT JOIN %2$s f ON f.account_key = a.account_key
    ), flagged AS (
      SELECT p.day,
             p.first_seen_at < (p.day::timestamp AT TIME ZONE $5)
             -- CASE: the before-span question is asked once per account, on its first active day
             AND CASE WHEN p.day > p.first_active_day THEN true ELSE (%3$s) END AS returning
        FROM pairs p
    ), counts AS (
      SELECT x.day, count(*) AS active, count(*) FILTER (WHERE x.returning) AS returning
        FROM flagged x
       GROUP BY x.day
    )
    SELECT d.day, d.day::timestamp AT TIME ZONE $5,
           coalesce(c.active, 0), coalesce(c.active - c.returning, 0), coalesce(c.returning, 0)
      FROM generate_series($6::date, $7::date, interval '1 day') g
     CROSS JOIN LATERAL (SELECT g::date AS day) d
      LEFT JOIN counts c ON c.day = d.day
     ORDER BY d.day$q$, eng, seen, before_span)
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
