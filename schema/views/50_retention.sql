-- 50_retention: the retention policy as one function, the same on every tier. Re-runnable.
-- The ingester calls it periodically (ingester/retention.py); an operator may call it by hand.
-- Why each part exists is written in docs/privacy.md.

-- The four-argument form (before `as_of`) would make every call ambiguous beside the new one.
DROP FUNCTION IF EXISTS pulse.apply_retention(int, int, int, int);

CREATE OR REPLACE FUNCTION pulse.apply_retention(
  text_days        int DEFAULT 180,
  other_days       int DEFAULT 7,
  dead_letter_days int DEFAULT 30,
  heartbeat_days   int DEFAULT 30,
  -- The moment the periods count back from: the service passes its clock (ingester/clock.py), so a
  -- time-compressed run (bench/soak.py --days) expires rows by its own calendar. NULL: now().
  as_of            timestamptz DEFAULT NULL
) RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql
-- Runs with the owner's rights so the writer role needs EXECUTE only, not DELETE on every table.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  started timestamptz := coalesce(as_of, now());
  n       bigint;
  ts      name;
  job     int;
  policy_after interval;
BEGIN
  IF text_days IS NULL OR other_days IS NULL OR dead_letter_days IS NULL OR heartbeat_days IS NULL
     OR least(text_days, other_days, dead_letter_days, heartbeat_days) < 1 THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
      MESSAGE = format('pulse.apply_retention: every period must be a whole number of days >= 1 '
                       '(text_days=%s, other_days=%s, dead_letter_days=%s, heartbeat_days=%s)',
                       text_days, other_days, dead_letter_days, heartbeat_days);
  END IF;

  -- 1. Residents' text: after text_days the words (and the link, which names the author) go; the
  --    row stays, so counts of replies/mentions/quotes over any period do not change. The channel's
  --    own posts are public statements of the city and keep their text.
  UPDATE pulse.statuses s
     SET content = NULL, url = NULL, text_purged_at = started
   WHERE s.text_purged_at IS NULL
     AND s.relation <> 'own_post'
     AND s.created_at < started - make_interval(days => text_days);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'reply_text_purged'; rows := n; RETURN NEXT;

  -- 2. 'other' statuses were kept only in case they turned out to sit in one of the channel's
  --    threads. Still unplaced after other_days: they never count, so they go entirely.
  DELETE FROM pulse.statuses s
   WHERE s.relation = 'other'
     AND s.thread_root_id IS NULL
     AND s.created_at < started - make_interval(days => other_days);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'other_statuses_deleted'; rows := n; RETURN NEXT;

  -- 3. Dead letters hold raw payloads (resident text included) for inspection only.
  DELETE FROM pulse.dead_letters d
   WHERE d.received_at < started - make_interval(days => dead_letter_days);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'dead_letters_deleted'; rows := n; RETURN NEXT;

  -- 4. Heartbeats: operational only. On full TimescaleDB a retention policy also drops whole
  --    chunks in the background (kept in step with heartbeat_days here); the DELETE below removes
  --    whatever is left in partly expired chunks, so the result is the same on every tier.
  IF pulse.tier() = 'timescale' THEN
    BEGIN
      SELECT e.extnamespace::regnamespace::name INTO ts FROM pg_extension e WHERE e.extname = 'timescaledb';
      SELECT j.job_id, (j.config ->> 'drop_after')::interval INTO job, policy_after
        FROM timescaledb_information.jobs j
       WHERE j.proc_name = 'policy_retention'
         AND j.hypertable_schema = 'pulse' AND j.hypertable_name = 'heartbeats';
      IF job IS NULL OR policy_after IS DISTINCT FROM make_interval(days => heartbeat_days) THEN
        EXECUTE format('SELECT %I.remove_retention_policy(%L::regclass, if_exists => true)', ts, 'pulse.heartbeats');
        EXECUTE format('SELECT %I.add_retention_policy(%L::regclass, %L::interval)', ts, 'pulse.heartbeats',
                       make_interval(days => heartbeat_days));
      END IF;
    EXCEPTION WHEN OTHERS THEN
      -- No right to manage jobs (not the table owner): the DELETE below still does the work.
      RAISE WARNING 'pulse.apply_retention: heartbeat retention policy not set: %', SQLERRM;
    END;
  END IF;
  DELETE FROM pulse.heartbeats h
   WHERE h.at < started - make_interval(days => heartbeat_days);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'heartbeats_deleted'; rows := n; RETURN NEXT;

  -- 5. Not retention, but the same daily rhythm: the month prefixes of the account sets
  --    (29_account_sets.sql) that a new month needs, so "returning accounts" stays a few rows' read.
  what := 'account_prefixes_made'; rows := pulse.rollup_seen_advance(); RETURN NEXT;
END $$;

COMMENT ON FUNCTION pulse.apply_retention(int, int, int, int, timestamptz) IS
  'Retention policy (docs/privacy.md): purge residents'' status text and links older than text_days '
  '(rows and counts stay), delete unplaced ''other'' statuses older than other_days, dead letters older than '
  'dead_letter_days, heartbeats older than heartbeat_days, every period counted back from as_of (default now()). '
  'Idempotent. Returns one row per action: '
  'reply_text_purged, other_statuses_deleted, dead_letters_deleted, heartbeats_deleted, and '
  'account_prefixes_made (the month prefixes of the account sets a new month needs; not a deletion).';

REVOKE ALL ON FUNCTION pulse.apply_retention(int, int, int, int, timestamptz) FROM PUBLIC;

-- The roles are cluster-wide and created by the KPI layer's file; grant only when they exist so this
-- file runs on a database where that file has not run yet.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pulse_writer') THEN
    GRANT EXECUTE ON FUNCTION pulse.apply_retention(int, int, int, int, timestamptz) TO pulse_writer;
  END IF;
END $$;
