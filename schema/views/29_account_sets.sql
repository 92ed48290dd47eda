-- 29_account_sets: the every-format sets and the "seen before" prefixes of 025, kept from the
-- account sets of 020 by a trigger on pulse.rollup_accounts, and pulse.account_set(), which reads
-- them. Re-runnable.
--
-- Why: a set is a bitmap as wide as the channel's account numbers (25 kB at 200,000 accounts), and
-- reading it costs about that much whatever its count. "Returning accounts" asked for every day set
-- since the first one (hundreds of bitmaps a query); "every format" for one set per format. Now
-- "before `from`" is the latest month prefix plus the days since, and "every format" one set.

-- What changed in pulse.rollup_accounts, one element per changed row: the bits it gained, and
-- whether it lost any (then the derived rows are recomputed or forgotten, never patched).
CREATE OR REPLACE FUNCTION pulse.account_sets_apply(p_grain text[], p_bucket timestamptz[], p_channel text[],
                                                    p_format text[], p_added bit varying[], p_lost boolean[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  -- every format, where bits were only added: OR them in
  INSERT INTO pulse.rollup_accounts_all AS a (grain, bucket, channel, accounts, n)
  SELECT x.g, x.b, x.ch, x.added, bit_count(x.added)
    FROM (SELECT u.g, u.b, u.ch, pulse.bits_union(u.added) AS added
            FROM unnest(p_grain, p_bucket, p_channel, p_added, p_lost) AS u(g, b, ch, added, lost)
           GROUP BY u.g, u.b, u.ch
          HAVING NOT bool_or(u.lost)) x
   WHERE x.added IS NOT NULL
   ORDER BY 1, 2, 3                  -- one lock order for concurrent writers
  ON CONFLICT (grain, bucket, channel)
  DO UPDATE SET accounts = pulse.bits_or(a.accounts, excluded.accounts),
                n = bit_count(pulse.bits_or(a.accounts, excluded.accounts))
   WHERE pulse.bits_common(a.accounts, excluded.accounts) < excluded.n;   -- only when someone is new here

  -- every format, where bits were lost: the OR of the format sets as they are now
  WITH hit AS (
    SELECT DISTINCT u.g, u.b, u.ch
      FROM unnest(p_grain, p_bucket, p_channel, p_lost) AS u(g, b, ch, lost) WHERE u.lost
  ), now_ AS (
    SELECT h.g, h.b, h.ch,
           (SELECT pulse.bits_union(y.accounts)
              FROM (SELECT bit_or(r.accounts) AS accounts FROM pulse.rollup_accounts r
                     WHERE r.grain = h.g AND r.bucket = h.b AND r.channel = h.ch
                     GROUP BY length(r.accounts)) y) AS accounts
      FROM hit h
  ), gone AS (
    DELETE FROM pulse.rollup_accounts_all a USING now_ x
     WHERE a.grain = x.g AND a.bucket = x.b AND a.channel = x.ch AND x.accounts IS NULL
  )
  INSERT INTO pulse.rollup_accounts_all AS a (grain, bucket, channel, accounts, n)
  SELECT x.g, x.b, x.ch, x.accounts, bit_count(x.accounts) FROM now_ x WHERE x.accounts IS NOT NULL
   ORDER BY 1, 2, 3
  ON CONFLICT (grain, bucket, channel) DO UPDATE SET accounts = excluded.accounts, n = excluded.n;

  -- prefixes after a day that lost bits may now be too large: forget them
  DELETE FROM pulse.rollup_seen s
   USING (SELECT DISTINCT u.ch, u.f, u.b FROM unnest(p_grain, p_bucket, p_channel, p_format, p_lost) AS u(g, b, ch, f, lost)
           WHERE u.g = '1d' AND u.lost) x
   WHERE s.channel = x.ch AND s.format IN (x.f, '*') AND s.before > x.b;

  -- prefixes after a day that gained bits (a late event of an earlier month): OR them in
  UPDATE pulse.rollup_seen s SET accounts = pulse.bits_or(s.accounts, y.added),
                                 n = bit_count(pulse.bits_or(s.accounts, y.added))
    FROM (SELECT p.channel, p.format, p.before, pulse.bits_union(u.added) AS added
            FROM unnest(p_grain, p_bucket, p_channel, p_format, p_added, p_lost) AS u(g, b, ch, f, added, lost)
            JOIN pulse.rollup_seen p ON p.channel = u.ch AND p.format IN (u.f, '*') AND p.before > u.b
           WHERE u.g = '1d' AND NOT u.lost AND u.added IS NOT NULL
           GROUP BY p.channel, p.format, p.before) y
   WHERE s.channel = y.channel AND s.format = y.format AND s.before = y.before;
END $$;

CREATE OR REPLACE FUNCTION pulse.account_sets_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.account_sets_apply(array_agg(n.grain), array_agg(n.bucket), array_agg(n.channel),
                                   array_agg(n.format), array_agg(n.accounts), array_agg(false))
     FROM new_rows n HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.account_sets_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.account_sets_apply(array_agg(n.grain), array_agg(n.bucket), array_agg(n.channel),
                                   array_agg(n.format), array_agg(pulse.bits_minus(n.accounts, o.accounts)),
                                   array_agg(coalesce(bit_count(pulse.bits_minus(o.accounts, n.accounts)), 0) > 0))
     FROM old_rows o
     JOIN new_rows n ON n.grain = o.grain AND n.bucket = o.bucket AND n.channel = o.channel AND n.format = o.format
   HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.account_sets_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.account_sets_apply(array_agg(o.grain), array_agg(o.bucket), array_agg(o.channel),
                                   array_agg(o.format), array_agg(NULL::bit varying), array_agg(true))
     FROM old_rows o HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- Make the missing month prefixes, up to the current month: each from the one before it plus that
-- month's day sets. Run by migrate and by the retention job (pulse.apply_retention); returns how many
-- it made. Writers of late events wait while it reads (SHARE lock), so none slips past a new prefix.
CREATE OR REPLACE FUNCTION pulse.rollup_seen_advance() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  tz text := pulse.timezone();
  made integer := 0;
  sc record;
  m timestamptz;
  prev_before timestamptz;
  prev_accounts bit varying;
  acc bit varying;
BEGIN
  -- nothing missing (every day but the first of a month): no lock, no writer waits
  IF NOT EXISTS (
       SELECT 1
         FROM (SELECT r.channel, r.format, min(r.bucket) AS first FROM pulse.rollup_accounts r
                WHERE r.grain = '1d' GROUP BY r.channel, r.format) q
        CROSS JOIN LATERAL generate_series(date_trunc('month', q.first AT TIME ZONE tz) + interval '1 month',
                                           date_trunc('month', now() AT TIME ZONE tz), interval '1 month') g
        WHERE NOT EXISTS (SELECT 1 FROM pulse.rollup_seen s
                           WHERE s.channel = q.channel AND s.format IN (q.format, '*')
                             AND s.before = g AT TIME ZONE tz
                           HAVING count(*) = 2)) THEN
    RETURN 0;
  END IF;
  LOCK TABLE pulse.rollup_accounts IN SHARE MODE;
  FOR sc IN SELECT r.channel, r.format, min(r.bucket) AS first FROM pulse.rollup_accounts r
             WHERE r.grain = '1d' GROUP BY r.channel, r.format
            UNION ALL
            SELECT a.channel, '*', min(a.bucket) FROM pulse.rollup_accounts_all a
             WHERE a.grain = '1d' GROUP BY a.channel LOOP
    FOR m IN SELECT g AT TIME ZONE tz
               FROM generate_series(date_trunc('month', sc.first AT TIME ZONE tz) + interval '1 month',
                                    date_trunc('month', now() AT TIME ZONE tz), interval '1 month') g LOOP
      CONTINUE WHEN EXISTS (SELECT 1 FROM pulse.rollup_seen s
                             WHERE s.channel = sc.channel AND s.format = sc.format AND s.before = m);
      prev_before := NULL;
      prev_accounts := NULL;
      SELECT s.before, s.accounts INTO prev_before, prev_accounts FROM pulse.rollup_seen s
       WHERE s.channel = sc.channel AND s.format = sc.format AND s.before < m
       ORDER BY s.before DESC LIMIT 1;
      IF sc.format = '*' THEN
        SELECT pulse.bits_union(y.accounts) INTO acc
          FROM (SELECT bit_or(a.accounts) AS accounts FROM pulse.rollup_accounts_all a
                 WHERE a.grain = '1d' AND a.channel = sc.channel
                   AND a.bucket >= coalesce(prev_before, '-infinity') AND a.bucket < m
                 GROUP BY length(a.accounts)) y;
      ELSE
        SELECT pulse.bits_union(y.accounts) INTO acc
          FROM (SELECT bit_or(r.accounts) AS accounts FROM pulse.rollup_accounts r
                 WHERE r.grain = '1d' AND r.channel = sc.channel AND r.format = sc.format
                   AND r.bucket >= coalesce(prev_before, '-infinity') AND r.bucket < m
                 GROUP BY length(r.accounts)) y;
      END IF;
      acc := coalesce(pulse.bits_or(prev_accounts, acc), B'');
      INSERT INTO pulse.rollup_seen (channel, format, before, accounts, n)
      VALUES (sc.channel, sc.format, m, acc, bit_count(acc));
      made := made + 1;
    END LOOP;
  END LOOP;
  RETURN made;
END $$;

-- From pulse.rollup_accounts as it is: the first migrate after the upgrade.
CREATE OR REPLACE FUNCTION pulse.account_sets_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  DELETE FROM pulse.rollup_accounts_all;
  DELETE FROM pulse.rollup_seen;
  INSERT INTO pulse.rollup_accounts_all (grain, bucket, channel, accounts, n)
  SELECT y.grain, y.bucket, y.channel, pulse.bits_union(y.accounts), bit_count(pulse.bits_union(y.accounts))
    FROM (SELECT r.grain, r.bucket, r.channel, bit_or(r.accounts) AS accounts FROM pulse.rollup_accounts r
           GROUP BY r.grain, r.bucket, r.channel, length(r.accounts)) y
   GROUP BY y.grain, y.bucket, y.channel;
  PERFORM pulse.rollup_seen_advance();
END $$;

DO $do$
BEGIN
  LOCK TABLE pulse.rollup_accounts IN SHARE ROW EXCLUSIVE MODE;
  DROP TRIGGER IF EXISTS account_sets_insert ON pulse.rollup_accounts;
  DROP TRIGGER IF EXISTS account_sets_update ON pulse.rollup_accounts;
  DROP TRIGGER IF EXISTS account_sets_delete ON pulse.rollup_accounts;
  CREATE TRIGGER account_sets_insert AFTER INSERT ON pulse.rollup_accounts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pulse.account_sets_inserted();
  CREATE TRIGGER account_sets_update AFTER UPDATE ON pulse.rollup_accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.account_sets_updated();
  CREATE TRIGGER account_sets_delete AFTER DELETE ON pulse.rollup_accounts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION pulse.account_sets_deleted();
  IF EXISTS (SELECT 1 FROM pulse.config WHERE key = 'account_sets_rebuild_pending') THEN
    PERFORM pulse.account_sets_rebuild();
    DELETE FROM pulse.config WHERE key = 'account_sets_rebuild_pending';
  ELSE
    PERFORM pulse.rollup_seen_advance();
  END IF;
END $do$;

-- ---- reading -----------------------------------------------------------------------------------
-- The set of accounts with an engagement in [p_from, p_to) (p_from may be '-infinity'), in one
-- channel or all (NULL), for one format ('' = about no post of known format) or all (NULL). Whole
-- days and hours come from the sets, each run of them in one read; only the partial hours at the
-- edges read events; everything before the first whole day, when p_from is '-infinity', is the
-- latest month prefix per channel and format plus the day sets since.
CREATE OR REPLACE FUNCTION pulse.account_set(p_from timestamptz, p_to timestamptz,
                                             p_channel text, p_format text) RETURNS bit varying
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  result bit varying;
  run record;
BEGIN
  -- consecutive pieces of one grain make one run (range_pieces gives them in time order per grain)
  FOR run IN
    SELECT r.grain, min(r.piece_from) AS lo, max(r.piece_to) AS hi
      FROM (SELECT p.*, sum(p.starts) OVER (ORDER BY p.grain, p.piece_from) AS run_no
              FROM (SELECT q.grain, q.piece_from, q.piece_to,
                           CASE WHEN q.grain <> 'raw' AND lag(q.piece_to) OVER w = q.piece_from THEN 0 ELSE 1 END AS starts
                      FROM pulse.range_pieces(p_from, p_to, pulse.timezone()) q
                    WINDOW w AS (PARTITION BY q.grain ORDER BY q.piece_from)) p) r
     GROUP BY r.grain, r.run_no
  LOOP
    IF run.grain = 'raw' THEN
      result := pulse.bits_or(result,
        (SELECT pulse.bits_from(array_agg(e.account_no))
           FROM pulse.raw_engagements(run.lo, run.hi, p_channel) e
           LEFT JOIN pulse.rollup_post_format f ON f.channel = e.channel AND f.post_ref = e.post_ref
          WHERE p_format IS NULL OR coalesce(f.format, '') = p_format));
    ELSIF run.lo = '-infinity' THEN
      -- per channel and format: its latest prefix at or before the end of the run, and the days since
      result := pulse.bits_or(result,
        (SELECT pulse.bits_union(y.accounts)
           FROM (SELECT bit_or(x.accounts) AS accounts
                   FROM (SELECT s.accounts FROM pulse.rollup_seen s
                          WHERE s.before = (SELECT max(t.before) FROM pulse.rollup_seen t
                                             WHERE t.channel = s.channel AND t.format = s.format AND t.before <= run.hi)
                            AND s.format = coalesce(p_format, '*')
                            AND (p_channel IS NULL OR s.channel = p_channel)
                         UNION ALL
                         SELECT a.accounts
                           FROM pulse.rollup_accounts_all a
                          WHERE p_format IS NULL AND a.grain = '1d' AND a.bucket < run.hi
                            AND (p_channel IS NULL OR a.channel = p_channel)
                            AND a.bucket >= coalesce((SELECT max(t.before) FROM pulse.rollup_seen t
                                                       WHERE t.channel = a.channel AND t.format = '*'
                                                         AND t.before <= run.hi), '-infinity')
                         UNION ALL
                         SELECT r.accounts
                           FROM pulse.rollup_accounts r
                          WHERE p_format IS NOT NULL AND r.grain = '1d' AND r.bucket < run.hi AND r.format = p_format
                            AND (p_channel IS NULL OR r.channel = p_channel)
                            AND r.bucket >= coalesce((SELECT max(t.before) FROM pulse.rollup_seen t
                                                       WHERE t.channel = r.channel AND t.format = r.format
                                                         AND t.before <= run.hi), '-infinity')) x
                  GROUP BY length(x.accounts)) y));
    ELSIF p_format IS NULL THEN
      result := pulse.bits_or(result,
        (SELECT pulse.bits_union(g.accounts)
           FROM (SELECT bit_or(a.accounts) AS accounts     -- per length: see pulse.bits_from
                   FROM pulse.rollup_accounts_all a
                  WHERE a.grain = run.grain AND a.bucket >= run.lo AND a.bucket < run.hi
                    AND (p_channel IS NULL OR a.channel = p_channel)
                  GROUP BY length(a.accounts)) g));
    ELSE
      result := pulse.bits_or(result,
        (SELECT pulse.bits_union(g.accounts)
           FROM (SELECT bit_or(r.accounts) AS accounts
                   FROM pulse.rollup_accounts r
                  WHERE r.grain = run.grain AND r.bucket >= run.lo AND r.bucket < run.hi
                    AND (p_channel IS NULL OR r.channel = p_channel) AND r.format = p_format
                  GROUP BY length(r.accounts)) g));
    END IF;
  END LOOP;
  RETURN result;
END $$;
