-- 24_rollup_triggers: the triggers that keep the rollups exact, and their (re)build from the stored
-- events. Re-runnable: triggers are dropped and made again in this transaction, so no write slips
-- between them.

-- ---- trigger functions --------------------------------------------------------------------------
-- Each notes the engagements its statement stored (n = 1) and removed (n = -1), and the channel
-- statuses whose posts' formats may have changed (n = 0), for pulse.rollup_apply_pending (23_rollups.sql):
-- at once, unless the writer deferred the rollups to one flush per transaction (the sink does).
-- Every trigger function turns hash and merge joins back on: the sink turns them off for its own
-- statements (sink_sql.PLANNER), and a join of transition tables or arrays must not be a nested loop.
CREATE OR REPLACE FUNCTION pulse.rollup_statuses_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  deferred boolean := pulse.rollup_deferred();
  noted bigint;
BEGIN
  IF NOT deferred THEN
    PERFORM pulse.rollup_pending_ready();
  END IF;
  INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
  SELECT n.channel, n.created_at, pulse.engagement_kind(n.relation, n.thread_root_id), n.account_key,
         CASE WHEN n.relation = 'own_post' THEN n.status_id
              ELSE pulse.engagement_ref(n.relation, n.thread_root_id, n.in_reply_to_id, n.quoted_id) END,
         CASE WHEN n.relation = 'own_post' THEN 0 ELSE 1 END
    FROM new_rows n
   WHERE n.relation = 'own_post' OR pulse.is_engagement(n.relation, n.thread_root_id);
  GET DIAGNOSTICS noted = ROW_COUNT;
  IF NOT deferred AND noted > 0 THEN
    PERFORM pulse.rollup_apply_pending();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.rollup_statuses_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  deferred boolean := pulse.rollup_deferred();
  noted bigint;
BEGIN
  IF NOT deferred THEN
    PERFORM pulse.rollup_pending_ready();
  END IF;
  INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
  SELECT o.channel, o.created_at, pulse.engagement_kind(o.relation, o.thread_root_id), o.account_key,
         CASE WHEN o.relation = 'own_post' THEN o.status_id
              ELSE pulse.engagement_ref(o.relation, o.thread_root_id, o.in_reply_to_id, o.quoted_id) END,
         CASE WHEN o.relation = 'own_post' THEN 0 ELSE -1 END
    FROM old_rows o
   WHERE o.relation = 'own_post' OR pulse.is_engagement(o.relation, o.thread_root_id);
  GET DIAGNOSTICS noted = ROW_COUNT;
  IF NOT deferred AND noted > 0 THEN
    PERFORM pulse.rollup_apply_pending();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.rollup_interactions_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  deferred boolean := pulse.rollup_deferred();
  noted bigint;
BEGIN
  IF NOT deferred THEN
    PERFORM pulse.rollup_pending_ready();
  END IF;
  INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
  SELECT n.channel, n.occurred_at, n.kind, n.account_key, n.status_id, 1 FROM new_rows n;
  GET DIAGNOSTICS noted = ROW_COUNT;
  IF NOT deferred AND noted > 0 THEN
    PERFORM pulse.rollup_apply_pending();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.rollup_interactions_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  deferred boolean := pulse.rollup_deferred();
  noted bigint;
BEGIN
  IF NOT deferred THEN
    PERFORM pulse.rollup_pending_ready();
  END IF;
  INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
  SELECT o.channel, o.occurred_at, o.kind, o.account_key, o.status_id, -1 FROM old_rows o;
  GET DIAGNOSTICS noted = ROW_COUNT;
  IF NOT deferred AND noted > 0 THEN
    PERFORM pulse.rollup_apply_pending();
  END IF;
  RETURN NULL;
END $$;

-- UPDATEs (plain PostgreSQL): rows whose engagement may have changed go out as they were and back
-- in as they are (the flush cancels what did not change); a channel status whose hashtags, thread
-- or relation changed re-derives formats. Most updates (a newer edit's text, a mention flag) change
-- none of that and cost one join of the transition tables.
CREATE OR REPLACE FUNCTION pulse.rollup_statuses_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  deferred boolean := pulse.rollup_deferred();
  noted bigint;
BEGIN
  IF NOT deferred THEN
    PERFORM pulse.rollup_pending_ready();
  END IF;
  INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
  SELECT v.channel, v.at, v.kind, v.account, v.ref, v.n
    FROM (SELECT o, n, (o.relation = 'own_post' OR n.relation = 'own_post')
                       AND (o.tags IS DISTINCT FROM n.tags OR o.thread_root_id IS DISTINCT FROM n.thread_root_id
                            OR o.relation IS DISTINCT FROM n.relation) AS own
            FROM old_rows o
            JOIN new_rows n ON n.channel = o.channel AND n.status_id = o.status_id AND n.created_at = o.created_at
           WHERE o.relation IS DISTINCT FROM n.relation OR o.thread_root_id IS DISTINCT FROM n.thread_root_id
              OR o.in_reply_to_id IS DISTINCT FROM n.in_reply_to_id
              OR o.quoted_id IS DISTINCT FROM n.quoted_id OR o.tags IS DISTINCT FROM n.tags) x
   CROSS JOIN LATERAL (
         SELECT (x.o).channel, (x.o).created_at, pulse.engagement_kind((x.o).relation, (x.o).thread_root_id),
                (x.o).account_key,
                pulse.engagement_ref((x.o).relation, (x.o).thread_root_id, (x.o).in_reply_to_id, (x.o).quoted_id), -1
          WHERE pulse.is_engagement((x.o).relation, (x.o).thread_root_id)
         UNION ALL
         SELECT (x.n).channel, (x.n).created_at, pulse.engagement_kind((x.n).relation, (x.n).thread_root_id),
                (x.n).account_key,
                pulse.engagement_ref((x.n).relation, (x.n).thread_root_id, (x.n).in_reply_to_id, (x.n).quoted_id), 1
          WHERE pulse.is_engagement((x.n).relation, (x.n).thread_root_id)
         UNION ALL
         SELECT (x.n).channel, NULL, NULL, NULL, (x.n).status_id, 0 WHERE x.own
       ) AS v(channel, at, kind, account, ref, n);
  GET DIAGNOSTICS noted = ROW_COUNT;
  IF NOT deferred AND noted > 0 THEN
    PERFORM pulse.rollup_apply_pending();
  END IF;
  RETURN NULL;
END $$;

-- ---- row-level (UPDATEs and DELETEs on TimescaleDB) ----------------------------------
CREATE OR REPLACE FUNCTION pulse.rollup_status_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  deferred boolean := pulse.rollup_deferred();
BEGIN
  IF NOT deferred THEN
    PERFORM pulse.rollup_pending_ready();
  END IF;
  IF pulse.is_engagement(OLD.relation, OLD.thread_root_id) THEN
    INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
    VALUES (OLD.channel, OLD.created_at, pulse.engagement_kind(OLD.relation, OLD.thread_root_id), OLD.account_key,
            pulse.engagement_ref(OLD.relation, OLD.thread_root_id, OLD.in_reply_to_id, OLD.quoted_id), -1);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF pulse.is_engagement(NEW.relation, NEW.thread_root_id) THEN
      INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
      VALUES (NEW.channel, NEW.created_at, pulse.engagement_kind(NEW.relation, NEW.thread_root_id), NEW.account_key,
              pulse.engagement_ref(NEW.relation, NEW.thread_root_id, NEW.in_reply_to_id, NEW.quoted_id), 1);
    END IF;
    IF NEW.relation = 'own_post' OR OLD.relation = 'own_post' THEN
      INSERT INTO pg_temp.pulse_rollup_pending (channel, ref, n) VALUES (NEW.channel, NEW.status_id, 0);
    END IF;
  ELSIF OLD.relation = 'own_post' THEN
    INSERT INTO pg_temp.pulse_rollup_pending (channel, ref, n) VALUES (OLD.channel, OLD.status_id, 0);
  END IF;
  IF NOT deferred THEN
    PERFORM pulse.rollup_apply_pending();
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.rollup_interaction_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  deferred boolean := pulse.rollup_deferred();
BEGIN
  IF NOT deferred THEN
    PERFORM pulse.rollup_pending_ready();
  END IF;
  INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
  VALUES (OLD.channel, OLD.occurred_at, OLD.kind, OLD.account_key, OLD.status_id, -1);
  IF NOT deferred THEN
    PERFORM pulse.rollup_apply_pending();
  END IF;
  RETURN NULL;
END $$;

-- The format map changed (migrate and run apply PULSE_FORMATS): posts whose format differs move.
-- Deferred to commit, so that replacing the map row by row moves each post once, not per row.
CREATE OR REPLACE FUNCTION pulse.rollup_formats_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  PERFORM pulse.rollup_reformat_all();
  RETURN NULL;
END $$;

-- An operator emptied an event table (TRUNCATE fires no row or statement triggers of the kinds
-- above): build the rollups again from what is left.
CREATE OR REPLACE FUNCTION pulse.rollup_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  PERFORM pulse.rollup_rebuild();
  RETURN NULL;
END $$;

-- ---- (re)build from the stored events -----------------------------------------------------------
-- Day by day in time order (account numbers follow first appearance, which keeps sets short), with
-- a NOTICE per tenth that `ingester migrate` shows as progress.
CREATE OR REPLACE FUNCTION pulse.rollup_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  tz text := pulse.timezone();
  first_day date;
  last_day date;
  d date;
  total integer;
  done integer := 0;
  shown integer := 0;
BEGIN
  -- DELETE, not TRUNCATE: this also runs inside a TRUNCATE of the event tables, which may name these
  DELETE FROM pulse.rollup_counts;
  DELETE FROM pulse.rollup_accounts;
  DELETE FROM pulse.rollup_post_format;
  DELETE FROM pulse.account_first_seen;   -- kept by pulse.rollup_apply_pending too: built again below
  -- changes noted for a deferred flush are in what is built here
  PERFORM pulse.rollup_pending_ready();
  DELETE FROM pg_temp.pulse_rollup_pending;
  SELECT (min(e.occurred_at) AT TIME ZONE tz)::date, (max(e.occurred_at) AT TIME ZONE tz)::date
    INTO first_day, last_day FROM pulse.engagement_rows e;
  IF first_day IS NULL THEN
    RETURN;
  END IF;
  total := last_day - first_day + 1;
  d := first_day;
  WHILE d <= last_day LOOP
    INSERT INTO pg_temp.pulse_rollup_pending (channel, at, kind, account, ref, n)
    SELECT x.channel, x.occurred_at, x.kind, x.account_key, x.post_ref, 1
      FROM pulse.engagement_rows x
     WHERE x.occurred_at >= d::timestamp AT TIME ZONE tz AND x.occurred_at < (d + 1)::timestamp AT TIME ZONE tz;
    PERFORM pulse.rollup_apply_pending();
    done := done + 1;
    IF done * 10 / total > shown OR done = total THEN
      shown := done * 10 / total;
      RAISE NOTICE 'rollups: %/% days', done, total;
    END IF;
    d := d + 1;
  END LOOP;
END $$;

DO $do$
DECLARE
  timescale boolean := pulse.tier() <> 'postgres';   -- hypertables (Apache or full licence)
  built_tz text := (SELECT value FROM pulse.config WHERE key = 'rollups_timezone');
BEGIN
  -- Writers wait while the triggers are replaced (and the rollups built), so none slips in between.
  LOCK TABLE pulse.statuses, pulse.interactions IN SHARE ROW EXCLUSIVE MODE;
  -- pulse.account_first_seen is kept by the rollup functions now (pulse.rollup_apply_pending): the
  -- triggers 011_first_seen.sql made for it would do the same work a second time
  DROP TRIGGER IF EXISTS first_seen_insert ON pulse.statuses;
  DROP TRIGGER IF EXISTS first_seen_delete ON pulse.statuses;
  DROP TRIGGER IF EXISTS first_seen_update ON pulse.statuses;
  DROP TRIGGER IF EXISTS first_seen_insert ON pulse.interactions;
  DROP TRIGGER IF EXISTS first_seen_delete ON pulse.interactions;
  -- and the functions those triggers ran
  DROP FUNCTION IF EXISTS pulse.first_seen_statuses_inserted(), pulse.first_seen_statuses_deleted(),
                          pulse.first_seen_interactions_inserted(), pulse.first_seen_interactions_deleted(),
                          pulse.first_seen_row();
  DROP TRIGGER IF EXISTS rollup_insert ON pulse.statuses;
  DROP TRIGGER IF EXISTS rollup_delete ON pulse.statuses;
  DROP TRIGGER IF EXISTS rollup_update ON pulse.statuses;
  DROP TRIGGER IF EXISTS rollup_insert ON pulse.interactions;
  DROP TRIGGER IF EXISTS rollup_delete ON pulse.interactions;
  DROP TRIGGER IF EXISTS rollup_formats ON pulse.formats;
  DROP TRIGGER IF EXISTS rollup_truncate ON pulse.statuses;
  DROP TRIGGER IF EXISTS rollup_truncate ON pulse.interactions;

  CREATE TRIGGER rollup_insert AFTER INSERT ON pulse.statuses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.rollup_statuses_inserted();
  CREATE TRIGGER rollup_insert AFTER INSERT ON pulse.interactions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.rollup_interactions_inserted();
  IF NOT timescale THEN
    CREATE TRIGGER rollup_delete AFTER DELETE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.rollup_statuses_deleted();
    CREATE TRIGGER rollup_delete AFTER DELETE ON pulse.interactions
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.rollup_interactions_deleted();
  ELSE
    CREATE TRIGGER rollup_delete AFTER DELETE ON pulse.statuses
      FOR EACH ROW EXECUTE FUNCTION pulse.rollup_status_row();
    CREATE TRIGGER rollup_delete AFTER DELETE ON pulse.interactions
      FOR EACH ROW EXECUTE FUNCTION pulse.rollup_interaction_row();
  END IF;
  IF NOT timescale THEN
    CREATE TRIGGER rollup_update AFTER UPDATE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.rollup_statuses_updated();
  ELSE
    -- Only when something the rollups depend on changed (text purges and edits of replies never fire it).
    CREATE TRIGGER rollup_update AFTER UPDATE OF relation, thread_root_id, in_reply_to_id, quoted_id, tags
      ON pulse.statuses FOR EACH ROW
      WHEN (OLD.relation IS DISTINCT FROM NEW.relation
            OR OLD.thread_root_id IS DISTINCT FROM NEW.thread_root_id
            OR OLD.in_reply_to_id IS DISTINCT FROM NEW.in_reply_to_id
            OR OLD.quoted_id IS DISTINCT FROM NEW.quoted_id
            OR (NEW.relation = 'own_post' AND OLD.tags IS DISTINCT FROM NEW.tags))
      EXECUTE FUNCTION pulse.rollup_status_row();
  END IF;
  CREATE TRIGGER rollup_truncate AFTER TRUNCATE ON pulse.statuses
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.rollup_truncated();
  CREATE TRIGGER rollup_truncate AFTER TRUNCATE ON pulse.interactions
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.rollup_truncated();
  CREATE CONSTRAINT TRIGGER rollup_formats AFTER INSERT OR UPDATE OR DELETE ON pulse.formats
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION pulse.rollup_formats_changed();

  -- First migrate after the upgrade that added the rollups, or a new timezone (day buckets move).
  IF EXISTS (SELECT 1 FROM pulse.config WHERE key = 'rollups_rebuild_pending')
     OR built_tz IS DISTINCT FROM pulse.timezone() THEN
    PERFORM pulse.rollup_rebuild();
    DELETE FROM pulse.config WHERE key = 'rollups_rebuild_pending';
    INSERT INTO pulse.config (key, value) VALUES ('rollups_timezone', pulse.timezone())
      ON CONFLICT (key) DO UPDATE SET value = excluded.value;
  END IF;
END $do$;

-- pulse.account_first_seen (011_first_seen.sql; kpi.sessions reads it): the same rules as there.
-- PL/pgSQL, not SQL: a SQL function that is not inlined is parsed and planned at every call (it
-- was a fifth of the triggers' CPU); PL/pgSQL keeps the plan for the session.
-- Noting: only accounts that are new or seen earlier than stored reach the upsert -- ON CONFLICT
-- ... WHERE locks, and so writes, every row it meets, which was every known account of every batch.
CREATE OR REPLACE FUNCTION pulse.first_seen_note(p_channel text[], p_account text[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  INSERT INTO pulse.account_first_seen AS f (channel, account_key, first_seen_at)
  SELECT m.c, m.a, m.t
    FROM (SELECT u.c, u.a, min(u.t) AS t FROM unnest(p_channel, p_account, p_at) AS u(c, a, t)
           GROUP BY u.c, u.a) m
    LEFT JOIN pulse.account_first_seen o ON o.channel = m.c AND o.account_key = m.a
   WHERE o.account_key IS NULL OR m.t < o.first_seen_at
   ORDER BY m.c, m.a          -- one lock order for concurrent writers
  ON CONFLICT (channel, account_key) DO UPDATE SET first_seen_at = excluded.first_seen_at
   WHERE excluded.first_seen_at < f.first_seen_at;
END $$;

-- Forgetting: where a removed engagement may have been the account's first, recompute it from the
-- rows that remain (a probe through the account indexes); no engagement left means not seen.
CREATE OR REPLACE FUNCTION pulse.first_seen_forget(p_channel text[], p_account text[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
  WITH hit AS (
    SELECT DISTINCT f.channel, f.account_key
      FROM unnest(p_channel, p_account, p_at) AS u(c, a, t)
      JOIN pulse.account_first_seen f ON f.channel = u.c AND f.account_key = u.a AND f.first_seen_at >= u.t
  ), fresh AS (
    SELECT h.channel, h.account_key,
           least((SELECT min(s.created_at) FROM pulse.statuses s
                   WHERE s.account_key = h.account_key AND s.channel = h.channel
                     AND pulse.is_engagement(s.relation, s.thread_root_id)),
                 (SELECT min(i.occurred_at) FROM pulse.interactions i
                   WHERE i.account_key = h.account_key AND i.channel = h.channel)) AS t
      FROM hit h
  ), moved AS (
    UPDATE pulse.account_first_seen f SET first_seen_at = r.t
      FROM fresh r
     WHERE f.channel = r.channel AND f.account_key = r.account_key
       AND r.t IS NOT NULL AND f.first_seen_at <> r.t
  )
  DELETE FROM pulse.account_first_seen f
   USING fresh r
   WHERE f.channel = r.channel AND f.account_key = r.account_key AND r.t IS NULL;
END $$;
