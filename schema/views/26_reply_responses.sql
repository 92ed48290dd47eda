-- 26_reply_responses: keeps pulse.reply_responses, pulse.city_answers and pulse.rollup_responses (021)
-- exact, and reads them. Re-runnable: triggers are dropped and made again in this transaction.
--
-- A reply's row depends on three things, and a change to any of them re-derives the reply's row from
-- pulse.statuses by the rule of pulse.addressed_replies (22_threads.sql):
--   * the reply itself (inserted, deleted, placed in a thread later, its relation changed);
--   * its parent, when that is one of the channel's statuses (a reply to the city is addressed, and
--     takes its thread's post from the parent) -- only for replies whose row can depend on it;
--   * the channel's answers to it (the first later one is answered_at).
-- Re-deriving = take the old row and its counts out, put the new one in: exact whatever changed, in
-- any order (an answer stored before the reply it answers, a post after its replies). A channel
-- status's row in pulse.city_answers depends on itself and on its parent (an answer replies to a
-- status that is not the channel's own) and is re-derived the same way.

-- When a reply counts as answered in time (72 hours, as kpi.summary and kpi.post_stats say).
CREATE OR REPLACE FUNCTION pulse.answered_in_time(replied_at timestamptz, answered_at timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(answered_at <= replied_at + interval '72 hours', false)
$$;

-- The two grains of pulse.rollup_responses: UTC hours and UTC days.
CREATE OR REPLACE FUNCTION pulse.utc_bucket(grain text, at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE grain WHEN '1h' THEN date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                    ELSE date_trunc('day', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' END
$$;

-- p_new: the rows the statement being handled inserted or changed them to. They are read from here
-- as well as from the table, because on TimescaleDB a row just inserted into a compressed chunk is
-- not yet visible to queries on the hypertable while the statement's AFTER triggers run (seen on
-- 2.28.3); where it is visible, reading it twice changes nothing below.
CREATE OR REPLACE FUNCTION pulse.responses_refresh(p_channel text[], p_id text[], p_new pulse.status_link[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  -- out: the replies' rows as they were, and their share of the hourly counts
  WITH ids AS (
    SELECT DISTINCT u.c, u.id FROM unnest(p_channel, p_id) AS u(c, id) WHERE u.id IS NOT NULL
  ), gone AS (
    DELETE FROM pulse.reply_responses rr USING ids
     WHERE rr.channel = ids.c AND rr.reply_id = ids.id
    RETURNING rr.channel, rr.replied_at, rr.post_id, rr.answered_at
  )
  INSERT INTO pulse.rollup_responses AS t (grain, bucket, channel, post_id, addressed, in_time)
  SELECT gr.grain, pulse.utc_bucket(gr.grain, g.replied_at), g.channel, coalesce(g.post_id, ''),
         -count(*), -count(*) FILTER (WHERE pulse.answered_in_time(g.replied_at, g.answered_at))
    FROM gone g CROSS JOIN (VALUES ('1h'), ('1d')) AS gr(grain)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4              -- one lock order for concurrent writers
  ON CONFLICT (grain, bucket, channel, post_id)
  DO UPDATE SET addressed = t.addressed + excluded.addressed, in_time = t.in_time + excluded.in_time;

  -- in: the rows as they are now (pulse.addressed_replies, restricted to these replies)
  WITH ids AS (
    SELECT DISTINCT u.c, u.id FROM unnest(p_channel, p_id) AS u(c, id) WHERE u.id IS NOT NULL
  ), nw AS MATERIALIZED (   -- (a transition table's rows are unique by channel and id)
    SELECT * FROM unnest(p_new)
  ), nw_own AS MATERIALIZED (   -- the channel's among them: parents and answers (a few per batch)
    SELECT * FROM nw WHERE nw.relation = 'own_post'
  ), replies AS (
    SELECT DISTINCT ON (r.channel, r.status_id) r.*
      FROM (SELECT 1 AS src, s.channel, s.status_id, s.created_at, s.relation, s.in_reply_to_id,
                   s.thread_root_id, s.mentions_channel
              FROM ids JOIN pulse.statuses s ON s.channel = ids.c AND s.status_id = ids.id
            UNION ALL
            SELECT 0, n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id,
                   n.mentions_channel
              FROM ids JOIN nw n ON n.channel = ids.c AND n.status_id = ids.id) r
     ORDER BY r.channel, r.status_id, r.src, r.created_at     -- the statement's own version first
  ), fresh AS (
    -- the statement's own rows are joined by hash (they may be hundreds), the table's by index
    SELECT r.channel, r.status_id AS reply_id, r.created_at AS replied_at,
           CASE WHEN r.thread_root_id IS NOT NULL THEN r.thread_root_id
                WHEN np.status_id IS NOT NULL THEN coalesce(np.thread_root_id, np.status_id)
                WHEN tp.status_id IS NOT NULL THEN coalesce(tp.thread_root_id, tp.status_id) END AS post_id,
           least((SELECT min(x.created_at) FROM pulse.statuses x
                   WHERE x.channel = r.channel AND x.in_reply_to_id = r.status_id
                     AND x.relation = 'own_post' AND x.created_at > r.created_at),
                 min(na.created_at)) AS answered_at
      FROM replies r
      LEFT JOIN nw_own np0 ON np0.channel = r.channel AND np0.status_id = r.in_reply_to_id
      LEFT JOIN LATERAL (SELECT np0.status_id, np0.thread_root_id WHERE np0.relation = 'own_post') np ON true
      -- (a parent in the statement that is not the channel's: not own in the table either)
      LEFT JOIN pulse.statuses tp
             ON np0.status_id IS NULL AND tp.channel = r.channel AND tp.status_id = r.in_reply_to_id
            AND tp.relation = 'own_post'
            AND NOT EXISTS (SELECT 1 FROM nw z WHERE z.channel = r.channel AND z.status_id = r.in_reply_to_id)
      LEFT JOIN nw_own na
             ON na.channel = r.channel AND na.in_reply_to_id = r.status_id AND na.created_at > r.created_at
     WHERE r.relation <> 'own_post' AND r.in_reply_to_id IS NOT NULL
       AND (r.relation = 'reply' OR np.status_id IS NOT NULL OR tp.status_id IS NOT NULL
            OR (r.thread_root_id IS NOT NULL AND r.mentions_channel))
     GROUP BY r.channel, r.status_id, r.created_at, r.thread_root_id, np.status_id, np.thread_root_id,
              tp.status_id, tp.thread_root_id
  ), put AS (
    INSERT INTO pulse.reply_responses (channel, reply_id, replied_at, post_id, answered_at)
    SELECT f.channel, f.reply_id, f.replied_at, f.post_id, f.answered_at FROM fresh f
    RETURNING channel, replied_at, post_id, answered_at
  )
  INSERT INTO pulse.rollup_responses AS t (grain, bucket, channel, post_id, addressed, in_time)
  SELECT gr.grain, pulse.utc_bucket(gr.grain, p.replied_at), p.channel, coalesce(p.post_id, ''),
         count(*), count(*) FILTER (WHERE pulse.answered_in_time(p.replied_at, p.answered_at))
    FROM put p CROSS JOIN (VALUES ('1h'), ('1d')) AS gr(grain)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT (grain, bucket, channel, post_id)
  DO UPDATE SET addressed = t.addressed + excluded.addressed, in_time = t.in_time + excluded.in_time;
END $$;

-- The same for the channel's statuses: is each one an answer (it replies to a status that is not
-- the channel's own), and under which post does it count.
CREATE OR REPLACE FUNCTION pulse.answers_refresh(p_channel text[], p_id text[], p_new pulse.status_link[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  WITH ids AS (
    SELECT DISTINCT u.c, u.id FROM unnest(p_channel, p_id) AS u(c, id) WHERE u.id IS NOT NULL
  ), gone AS (
    DELETE FROM pulse.city_answers a USING ids WHERE a.channel = ids.c AND a.status_id = ids.id
    RETURNING a.channel, a.created_at, a.post_id
  )
  INSERT INTO pulse.rollup_responses AS t (grain, bucket, channel, post_id, answers)
  SELECT gr.grain, pulse.utc_bucket(gr.grain, g.created_at), g.channel, g.post_id, -count(*)
    FROM gone g CROSS JOIN (VALUES ('1h'), ('1d')) AS gr(grain)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT (grain, bucket, channel, post_id) DO UPDATE SET answers = t.answers + excluded.answers;

  WITH ids AS (
    SELECT DISTINCT u.c, u.id FROM unnest(p_channel, p_id) AS u(c, id) WHERE u.id IS NOT NULL
  ), nw AS (
    SELECT * FROM unnest(p_new)
  ), own AS (
    SELECT DISTINCT ON (r.channel, r.status_id) r.*
      FROM (SELECT 1 AS src, s.channel, s.status_id, s.created_at, s.relation, s.in_reply_to_id, s.thread_root_id
              FROM ids JOIN pulse.statuses s ON s.channel = ids.c AND s.status_id = ids.id
            UNION ALL
            SELECT 0, n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id
              FROM ids JOIN nw n ON n.channel = ids.c AND n.status_id = ids.id) r
     ORDER BY r.channel, r.status_id, r.src, r.created_at
  ), put AS (
    INSERT INTO pulse.city_answers (channel, status_id, created_at, post_id)
    SELECT o.channel, o.status_id, o.created_at, coalesce(o.thread_root_id, o.status_id)
      FROM own o
      LEFT JOIN nw np ON np.channel = o.channel AND np.status_id = o.in_reply_to_id
      LEFT JOIN LATERAL (
            SELECT p.relation FROM pulse.statuses p
             WHERE np.status_id IS NULL AND p.channel = o.channel AND p.status_id = o.in_reply_to_id
             LIMIT 1) tp ON true
     WHERE o.relation = 'own_post' AND o.in_reply_to_id IS NOT NULL
       AND coalesce(np.relation, tp.relation) IS DISTINCT FROM 'own_post'
    RETURNING channel, created_at, post_id
  )
  INSERT INTO pulse.rollup_responses AS t (grain, bucket, channel, post_id, answers)
  SELECT gr.grain, pulse.utc_bucket(gr.grain, p.created_at), p.channel, p.post_id, count(*)
    FROM put p CROSS JOIN (VALUES ('1h'), ('1d')) AS gr(grain)
   GROUP BY 1, 2, 3, 4
   ORDER BY 1, 2, 3, 4
  ON CONFLICT (grain, bucket, channel, post_id) DO UPDATE SET answers = t.answers + excluded.answers;
END $$;

-- The rows a set of changed statuses (p_changed: old and new versions) can move. Replies: each
-- changed resident reply; for each changed channel status, the reply it answers and those of its
-- direct replies whose row depends on it (not yet placed in a thread, or addressed only through it).
CREATE OR REPLACE FUNCTION pulse.responses_touched(p_changed pulse.status_link[], p_new pulse.status_link[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  -- the channel's statuses that may have become or stopped being answers: the changed ones, and the
  -- channel's replies to a changed status (whose parent may have become or stopped being its own)
  PERFORM pulse.answers_refresh(array_agg(a.c), array_agg(a.id), p_new)
     FROM (SELECT u.channel AS c, u.status_id AS id FROM unnest(p_changed) u
            WHERE u.relation = 'own_post' OR u.in_reply_to_id IS NOT NULL
           UNION ALL
           SELECT k.channel, k.status_id
             FROM unnest(p_changed) u
             JOIN pulse.statuses k ON k.channel = u.channel AND k.in_reply_to_id = u.status_id
            WHERE k.relation = 'own_post') a
   HAVING count(*) > 0;
  PERFORM pulse.responses_refresh(array_agg(a.c), array_agg(a.id), p_new)
     FROM (SELECT u.channel AS c, u.status_id AS id FROM unnest(p_changed) u
            WHERE u.relation <> 'own_post' AND u.in_reply_to_id IS NOT NULL
           UNION ALL
           SELECT u.channel, u.in_reply_to_id FROM unnest(p_changed) u
            WHERE u.relation = 'own_post' AND u.in_reply_to_id IS NOT NULL
           UNION ALL
           SELECT k.channel, k.status_id
             FROM unnest(p_changed) u
             JOIN pulse.statuses k ON k.channel = u.channel AND k.in_reply_to_id = u.status_id
            WHERE u.relation = 'own_post' AND k.relation <> 'own_post'
              AND (k.thread_root_id IS NULL OR NOT (k.relation = 'reply' OR k.mentions_channel))) a
   HAVING count(*) > 0;
END $$;

-- ---- deferred to the writer's flush ------------------------------------------------------------
-- When the writer deferred the rollups to one flush per transaction (pulse.rollup_defer, as the
-- sink does for each batch), the triggers only note the changed statuses in a temporary table of the
-- session, and pulse.rollup_flush re-derives the rows they touch once: a batch's replies, answers and
-- thread placements cost one pass instead of one per statement. At the flush every statement has
-- ended, so the table itself shows their rows (the compressed-chunk caveat above is about the
-- statement's own triggers).
CREATE OR REPLACE FUNCTION pulse.responses_note(p_links pulse.status_link[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF to_regclass('pg_temp.pulse_responses_pending') IS NULL THEN
    CREATE TEMP TABLE pulse_responses_pending OF pulse.status_link ON COMMIT DELETE ROWS;
  END IF;
  INSERT INTO pg_temp.pulse_responses_pending SELECT * FROM unnest(p_links);
END $$;

CREATE OR REPLACE FUNCTION pulse.responses_apply_pending() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  links pulse.status_link[];
BEGIN
  IF to_regclass('pg_temp.pulse_responses_pending') IS NULL THEN
    RETURN;
  END IF;
  WITH gone AS (DELETE FROM pg_temp.pulse_responses_pending RETURNING *)
  SELECT array_agg(ROW(g.channel, g.status_id, g.created_at, g.relation, g.in_reply_to_id, g.thread_root_id,
                       g.mentions_channel)::pulse.status_link)
    INTO links
    FROM (SELECT DISTINCT * FROM gone) g;
  IF links IS NOT NULL THEN
    PERFORM pulse.responses_touched(links, '{}');
  END IF;
END $$;

-- ---- triggers --------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pulse.responses_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF pulse.rollup_deferred() THEN
    PERFORM pulse.responses_note(array_agg(ROW(n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id, n.mentions_channel)::pulse.status_link))
       FROM new_rows n WHERE n.in_reply_to_id IS NOT NULL OR n.relation = 'own_post'
     HAVING count(*) > 0;
    RETURN NULL;
  END IF;
  PERFORM pulse.responses_touched(array_agg(ROW(n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id, n.mentions_channel)::pulse.status_link),
                                  array_agg(ROW(n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id, n.mentions_channel)::pulse.status_link))
     FROM new_rows n WHERE n.in_reply_to_id IS NOT NULL OR n.relation = 'own_post'
   HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.responses_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF pulse.rollup_deferred() THEN
    PERFORM pulse.responses_note(array_agg(ROW(o.channel, o.status_id, o.created_at, o.relation, o.in_reply_to_id, o.thread_root_id, o.mentions_channel)::pulse.status_link))
       FROM old_rows o WHERE o.in_reply_to_id IS NOT NULL OR o.relation = 'own_post'
     HAVING count(*) > 0;
    RETURN NULL;
  END IF;
  PERFORM pulse.responses_touched(array_agg(ROW(o.channel, o.status_id, o.created_at, o.relation, o.in_reply_to_id, o.thread_root_id, o.mentions_channel)::pulse.status_link), '{}')
     FROM old_rows o WHERE o.in_reply_to_id IS NOT NULL OR o.relation = 'own_post'
   HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- UPDATEs (plain PostgreSQL): only statuses whose row-deciding columns changed, old and new versions
-- both (a moved answer un-answers one reply and answers another). Text edits and purges change none.
CREATE OR REPLACE FUNCTION pulse.responses_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  IF pulse.rollup_deferred() THEN
    PERFORM pulse.responses_note(array_agg(ROW(o.channel, o.status_id, o.created_at, o.relation, o.in_reply_to_id, o.thread_root_id, o.mentions_channel)::pulse.status_link) || array_agg(ROW(n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id, n.mentions_channel)::pulse.status_link))
       FROM old_rows o
       JOIN new_rows n ON n.channel = o.channel AND n.status_id = o.status_id AND n.created_at = o.created_at
      WHERE (o.relation IS DISTINCT FROM n.relation OR o.in_reply_to_id IS DISTINCT FROM n.in_reply_to_id
             OR o.thread_root_id IS DISTINCT FROM n.thread_root_id
             OR o.mentions_channel IS DISTINCT FROM n.mentions_channel)
        AND (o.in_reply_to_id IS NOT NULL OR o.relation = 'own_post'
             OR n.in_reply_to_id IS NOT NULL OR n.relation = 'own_post')
     HAVING count(*) > 0;
    RETURN NULL;
  END IF;
  PERFORM pulse.responses_touched(array_agg(ROW(o.channel, o.status_id, o.created_at, o.relation, o.in_reply_to_id, o.thread_root_id, o.mentions_channel)::pulse.status_link)
                                  || array_agg(ROW(n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id, n.mentions_channel)::pulse.status_link),
                                  array_agg(ROW(n.channel, n.status_id, n.created_at, n.relation, n.in_reply_to_id, n.thread_root_id, n.mentions_channel)::pulse.status_link))
     FROM old_rows o
     JOIN new_rows n ON n.channel = o.channel AND n.status_id = o.status_id AND n.created_at = o.created_at
    WHERE (o.relation IS DISTINCT FROM n.relation OR o.in_reply_to_id IS DISTINCT FROM n.in_reply_to_id
           OR o.thread_root_id IS DISTINCT FROM n.thread_root_id
           OR o.mentions_channel IS DISTINCT FROM n.mentions_channel)
      AND (o.in_reply_to_id IS NOT NULL OR o.relation = 'own_post'
           OR n.in_reply_to_id IS NOT NULL OR n.relation = 'own_post')
   HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- Row level (DELETE and UPDATE on TimescaleDB, whose hypertables have no transition tables for them).
CREATE OR REPLACE FUNCTION pulse.responses_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF pulse.rollup_deferred() THEN
    IF TG_OP = 'UPDATE' THEN
      PERFORM pulse.responses_note(ARRAY[ROW(OLD.channel, OLD.status_id, OLD.created_at, OLD.relation, OLD.in_reply_to_id, OLD.thread_root_id, OLD.mentions_channel)::pulse.status_link,
                                         ROW(NEW.channel, NEW.status_id, NEW.created_at, NEW.relation, NEW.in_reply_to_id, NEW.thread_root_id, NEW.mentions_channel)::pulse.status_link]);
    ELSE
      PERFORM pulse.responses_note(ARRAY[ROW(OLD.channel, OLD.status_id, OLD.created_at, OLD.relation, OLD.in_reply_to_id, OLD.thread_root_id, OLD.mentions_channel)::pulse.status_link]);
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    PERFORM pulse.responses_touched(ARRAY[ROW(OLD.channel, OLD.status_id, OLD.created_at, OLD.relation, OLD.in_reply_to_id, OLD.thread_root_id, OLD.mentions_channel)::pulse.status_link,
                                          ROW(NEW.channel, NEW.status_id, NEW.created_at, NEW.relation, NEW.in_reply_to_id, NEW.thread_root_id, NEW.mentions_channel)::pulse.status_link],
                                    ARRAY[ROW(NEW.channel, NEW.status_id, NEW.created_at, NEW.relation, NEW.in_reply_to_id, NEW.thread_root_id, NEW.mentions_channel)::pulse.status_link]);
  ELSE
    PERFORM pulse.responses_touched(ARRAY[ROW(OLD.channel, OLD.status_id, OLD.created_at, OLD.relation, OLD.in_reply_to_id, OLD.thread_root_id, OLD.mentions_channel)::pulse.status_link], '{}');
  END IF;
  RETURN NULL;
END $$;

-- Built from the stored statuses: on the first migrate after the upgrade, and after a TRUNCATE.
CREATE OR REPLACE FUNCTION pulse.responses_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  DELETE FROM pulse.reply_responses;   -- DELETE, not TRUNCATE: this also runs inside a TRUNCATE
  DELETE FROM pulse.city_answers;
  DELETE FROM pulse.rollup_responses;
  INSERT INTO pulse.reply_responses (channel, reply_id, replied_at, post_id, answered_at)
  SELECT DISTINCT ON (a.channel, a.reply_id) a.channel, a.reply_id, a.replied_at, a.post_id, a.answered_at
    FROM pulse.addressed_replies a
   ORDER BY a.channel, a.reply_id, a.replied_at;
  INSERT INTO pulse.city_answers (channel, status_id, created_at, post_id)
  SELECT DISTINCT ON (o.channel, o.status_id) o.channel, o.status_id, o.created_at, o.root_id
    FROM pulse.own_statuses o WHERE o.answer
   ORDER BY o.channel, o.status_id, o.created_at;
  INSERT INTO pulse.rollup_responses (grain, bucket, channel, post_id, addressed, in_time, answers)
  SELECT gr.grain, pulse.utc_bucket(gr.grain, x.at), x.channel, x.post_id,
         count(*) FILTER (WHERE x.reply), count(*) FILTER (WHERE x.reply AND x.in_time),
         count(*) FILTER (WHERE NOT x.reply)
    FROM (SELECT r.replied_at AS at, r.channel, coalesce(r.post_id, '') AS post_id, true AS reply,
                 pulse.answered_in_time(r.replied_at, r.answered_at) AS in_time
            FROM pulse.reply_responses r
          UNION ALL
          SELECT a.created_at, a.channel, a.post_id, false, false FROM pulse.city_answers a) x
   CROSS JOIN (VALUES ('1h'), ('1d')) AS gr(grain)
   GROUP BY 1, 2, 3, 4;
END $$;

CREATE OR REPLACE FUNCTION pulse.responses_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.responses_rebuild();
  RETURN NULL;
END $$;

DO $do$
DECLARE
  timescale boolean := pulse.tier() <> 'postgres';
BEGIN
  LOCK TABLE pulse.statuses IN SHARE ROW EXCLUSIVE MODE;   -- no write slips between the triggers
  DROP TRIGGER IF EXISTS responses_insert ON pulse.statuses;
  DROP TRIGGER IF EXISTS responses_delete ON pulse.statuses;
  DROP TRIGGER IF EXISTS responses_update ON pulse.statuses;
  DROP TRIGGER IF EXISTS responses_truncate ON pulse.statuses;
  CREATE TRIGGER responses_insert AFTER INSERT ON pulse.statuses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.responses_inserted();
  IF NOT timescale THEN
    CREATE TRIGGER responses_delete AFTER DELETE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.responses_deleted();
    CREATE TRIGGER responses_update AFTER UPDATE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.responses_updated();
  ELSE
    CREATE TRIGGER responses_delete AFTER DELETE ON pulse.statuses
      FOR EACH ROW WHEN (OLD.in_reply_to_id IS NOT NULL OR OLD.relation = 'own_post')
      EXECUTE FUNCTION pulse.responses_row();
    CREATE TRIGGER responses_update AFTER UPDATE OF relation, in_reply_to_id, thread_root_id, mentions_channel
      ON pulse.statuses FOR EACH ROW
      WHEN (OLD.relation IS DISTINCT FROM NEW.relation OR OLD.in_reply_to_id IS DISTINCT FROM NEW.in_reply_to_id
            OR OLD.thread_root_id IS DISTINCT FROM NEW.thread_root_id
            OR OLD.mentions_channel IS DISTINCT FROM NEW.mentions_channel)
      EXECUTE FUNCTION pulse.responses_row();
  END IF;
  CREATE TRIGGER responses_truncate AFTER TRUNCATE ON pulse.statuses
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.responses_truncated();

  IF EXISTS (SELECT 1 FROM pulse.config WHERE key = 'reply_responses_rebuild_pending') THEN
    IF EXISTS (SELECT 1 FROM pulse.statuses WHERE in_reply_to_id IS NOT NULL) THEN
      RAISE NOTICE 'response times: building from the stored replies';
    END IF;
    PERFORM pulse.responses_rebuild();
    DELETE FROM pulse.config WHERE key = 'reply_responses_rebuild_pending';
  END IF;
END $do$;

-- ---- reading ---------------------------------------------------------------------------------
-- [p_from, p_to) cut into whole UTC days, whole UTC hours around them, and the partial hours at the
-- edges ('raw'), in that order of preference.
CREATE OR REPLACE FUNCTION pulse.utc_pieces(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (grain text, lo timestamptz, hi timestamptz)
LANGUAGE sql IMMUTABLE AS $$
  WITH e AS (
    SELECT CASE WHEN pulse.utc_bucket('1h', p_from) = p_from THEN p_from
                ELSE pulse.utc_bucket('1h', p_from) + interval '1 hour' END AS h0,
           pulse.utc_bucket('1h', p_to) AS h1,
           CASE WHEN pulse.utc_bucket('1d', p_from) = p_from THEN p_from
                ELSE pulse.utc_bucket('1d', p_from) + interval '1 day' END AS d0,
           pulse.utc_bucket('1d', p_to) AS d1
     WHERE p_from < p_to
  ), c AS (   -- collapse what does not fit: no whole day, no whole hour
    SELECT least(e.h0, p_to) AS h0, greatest(e.h1, least(e.h0, p_to)) AS h1,
           CASE WHEN e.d0 < e.d1 THEN e.d0 ELSE least(e.h0, p_to) END AS d0,
           CASE WHEN e.d0 < e.d1 THEN e.d1 ELSE least(e.h0, p_to) END AS d1
      FROM e
  )
  SELECT x.grain, x.lo, x.hi
    FROM c, LATERAL (VALUES ('raw', p_from, c.h0), ('1h', c.h0, c.d0), ('1d', c.d0, c.d1),
                            ('1h', c.d1, c.h1), ('raw', c.h1, p_to)) AS x(grain, lo, hi)
   WHERE x.lo < x.hi
$$;

-- Addressed replies written in [from, to), how many of them were answered within 72 hours, and the
-- city's answers written in [from, to), per channel and post: whole buckets from
-- pulse.rollup_responses, the partial hours at the edges from the rows. A few thousand rows for a
-- quarter instead of a million replies.
CREATE OR REPLACE FUNCTION pulse.response_counts(p_from timestamptz, p_to timestamptz, p_channel text)
RETURNS TABLE (channel text, post_id text, addressed bigint, in_time bigint, answers bigint)
LANGUAGE sql STABLE AS $$
  SELECT x.channel, x.post_id, sum(x.addressed)::bigint, sum(x.in_time)::bigint, sum(x.answers)::bigint
    FROM pulse.utc_pieces(p_from, p_to) pc
    CROSS JOIN LATERAL (
          SELECT r.channel, r.post_id, r.addressed::bigint AS addressed, r.in_time::bigint AS in_time,
                 r.answers::bigint AS answers
            FROM pulse.rollup_responses r
           WHERE pc.grain <> 'raw' AND r.grain = pc.grain AND r.bucket >= pc.lo AND r.bucket < pc.hi
             AND (p_channel IS NULL OR r.channel = p_channel)
          UNION ALL
          SELECT e.channel, coalesce(e.post_id, ''), 1, pulse.answered_in_time(e.replied_at, e.answered_at)::int, 0
            FROM pulse.reply_responses e
           WHERE pc.grain = 'raw' AND e.replied_at >= pc.lo AND e.replied_at < pc.hi
             AND (p_channel IS NULL OR e.channel = p_channel)
          UNION ALL
          SELECT a.channel, a.post_id, 0, 0, 1
            FROM pulse.city_answers a
           WHERE pc.grain = 'raw' AND a.created_at >= pc.lo AND a.created_at < pc.hi
             AND (p_channel IS NULL OR a.channel = p_channel)) x
   GROUP BY x.channel, x.post_id
$$;
