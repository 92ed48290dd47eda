-- 35_accounts_daily: kpi.accounts_daily(from, to, channel, format). Re-runnable.
--
-- Distinct, new and returning accounts per local calendar day (pulse.timezone(); 23 or 25 hours on
-- DST days), for every day that overlaps [from, to). Each row is exactly what
-- kpi.summary(day_start, day_end, channel, format) gives for that whole day.
--
-- From the day account sets of the rollups (020_rollups.sql; every format together: 025): a day's
-- distinct accounts are its
-- set's popcount; its returning accounts those also in the set of everything before the day, which
-- is built once for the first day and then grows by each day's set -- work per day, not per event.
CREATE OR REPLACE FUNCTION kpi.accounts_daily(p_from timestamptz, p_to timestamptz,
                            p_channel text DEFAULT NULL, p_format text DEFAULT NULL)
RETURNS TABLE (day date, bucket timestamptz, distinct_accounts bigint, new_accounts bigint,
               returning_accounts bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off AS $$
DECLARE
  tz text := pulse.timezone();
  first_day date;
  last_day date;
  d date;
  seen bit varying;
  today bit varying;
  active bigint;
  back bigint;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RAISE EXCEPTION 'kpi.accounts_daily: need from < to (got % .. %)', p_from, p_to
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  first_day := (p_from AT TIME ZONE tz)::date;
  -- the local day of the last instant inside the range (timestamptz counts microseconds)
  last_day := ((p_to - interval '1 microsecond') AT TIME ZONE tz)::date;
  seen := pulse.account_set('-infinity', first_day::timestamp AT TIME ZONE tz, p_channel, p_format);
  d := first_day;
  WHILE d <= last_day LOOP
    IF p_format IS NULL THEN   -- every format: one set per channel (29_account_sets.sql)
      SELECT pulse.bits_union(a.accounts) INTO today
        FROM pulse.rollup_accounts_all a
       WHERE a.grain = '1d' AND a.bucket = d::timestamp AT TIME ZONE tz
         AND (p_channel IS NULL OR a.channel = p_channel);
    ELSE
      SELECT pulse.bits_union(r.accounts) INTO today
        FROM pulse.rollup_accounts r
       WHERE r.grain = '1d' AND r.bucket = d::timestamp AT TIME ZONE tz
         AND (p_channel IS NULL OR r.channel = p_channel) AND r.format = p_format;
    END IF;
    active := coalesce(bit_count(today), 0);
    back := pulse.bits_common(today, seen);
    day := d;
    bucket := d::timestamp AT TIME ZONE tz;
    distinct_accounts := active;
    new_accounts := active - back;
    returning_accounts := back;
    RETURN NEXT;
    seen := pulse.bits_or(seen, today);
    d := d + 1;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION kpi.accounts_daily(timestamptz, timestamptz, text, text) FROM PUBLIC;

COMMENT ON FUNCTION kpi.accounts_daily(timestamptz, timestamptz, text, text) IS
  'kpi.accounts_daily(from, to, channel default NULL, format default NULL): one row per local calendar day '
  '(timezone from pulse.config, Europe/Amsterdam by default; 23 or 25 hours on DST days) that overlaps '
  '[from, to), counted over the whole day, days without activity included: day, bucket (the day''s start), '
  'distinct_accounts, new_accounts, returning_accounts -- each equal to kpi.summary(day start, day end, '
  'channel, format) for that day. Distinct counts: do not add them up across days. Pseudonymous.';
