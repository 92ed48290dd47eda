-- 011_first_seen: when each account first engaged with each channel, kept exact by triggers. Run once.
--
-- kpi.summary's "returning accounts" are the accounts active in [from, to) that engaged before
-- `from`. Asking the events that question per active account costs one index probe per account
-- (seconds for a month of a busy channel); this table answers it with one hash join.
--
-- Rule (the same as the events give, so new + returning = distinct always holds): first_seen_at is
-- the earliest engagement of the account with the channel among the rows stored *now*. A deleted
-- reply is gone from kpi.engagements, so it no longer makes its author "seen": a delete recomputes
-- the account's first engagement from the remaining rows. An engagement is a row of
-- pulse.engagement_rows: a status of another account inside a channel thread or a reply, quote or
-- mention, or any favourite, reblog or follow.
--
-- Maintenance: inserts add, deletes recompute, and an UPDATE that turns a status into or out of an
-- engagement (the sink upgrades a relation or places an 'other' status in a thread) does both.
-- Plain PostgreSQL: statement-level triggers with transition tables, one set-based statement per
-- batch. TimescaleDB (hypertables): row-level triggers, because transition tables on hypertables
-- are missing before TimescaleDB 2.18 and refused for DELETE on compressed chunks.
-- The functions are SECURITY DEFINER: whoever writes events (pulse_writer) keeps this table right
-- without holding rights on it.

CREATE TABLE pulse.account_first_seen (
  channel        text        NOT NULL,
  account_key    text        NOT NULL,
  first_seen_at  timestamptz NOT NULL,
  PRIMARY KEY (channel, account_key)
);

-- Whether a status row is an engagement: the WHERE clause of pulse.engagement_rows.
CREATE FUNCTION pulse.is_engagement(relation text, thread_root_id text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT relation <> 'own_post' AND (thread_root_id IS NOT NULL OR relation IN ('reply', 'quote', 'mention'))
$$;

-- Engagements were stored: move first_seen_at earlier where they are earlier.
CREATE FUNCTION pulse.first_seen_note(p_channel text[], p_account text[], p_at timestamptz[])
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO pulse.account_first_seen AS f (channel, account_key, first_seen_at)
  SELECT u.c, u.a, min(u.t) FROM unnest(p_channel, p_account, p_at) AS u(c, a, t)
   GROUP BY u.c, u.a
   ORDER BY u.c, u.a          -- one lock order for concurrent writers
  ON CONFLICT (channel, account_key) DO UPDATE SET first_seen_at = excluded.first_seen_at
   WHERE excluded.first_seen_at < f.first_seen_at
$$;

-- Engagements went away (or stopped being engagements): where one of them may have been the
-- account's first, recompute it from the rows that remain (the account indexes make this a probe);
-- no engagement left means not seen.
CREATE FUNCTION pulse.first_seen_forget(p_channel text[], p_account text[], p_at timestamptz[])
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
   WHERE f.channel = r.channel AND f.account_key = r.account_key AND r.t IS NULL
$$;

-- From scratch (an operator's repair, e.g. after TRUNCATE, which no trigger here follows).
CREATE FUNCTION pulse.first_seen_rebuild() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  DELETE FROM pulse.account_first_seen;
  INSERT INTO pulse.account_first_seen (channel, account_key, first_seen_at)
  SELECT channel, account_key, min(t)
    FROM (SELECT s.channel, s.account_key, min(s.created_at) AS t FROM pulse.statuses s
           WHERE pulse.is_engagement(s.relation, s.thread_root_id)
           GROUP BY 1, 2
          UNION ALL
          SELECT i.channel, i.account_key, min(i.occurred_at) FROM pulse.interactions i
           GROUP BY 1, 2) x
   GROUP BY 1, 2;
$$;

-- ---- statement-level trigger functions (plain PostgreSQL) ------------------------------------
CREATE FUNCTION pulse.first_seen_statuses_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.first_seen_note(array_agg(n.channel), array_agg(n.account_key), array_agg(n.created_at))
     FROM new_rows n WHERE pulse.is_engagement(n.relation, n.thread_root_id)
   HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE FUNCTION pulse.first_seen_statuses_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.first_seen_forget(array_agg(o.channel), array_agg(o.account_key), array_agg(o.created_at))
     FROM old_rows o WHERE pulse.is_engagement(o.relation, o.thread_root_id)
   HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE FUNCTION pulse.first_seen_interactions_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.first_seen_note(array_agg(n.channel), array_agg(n.account_key), array_agg(n.occurred_at))
     FROM new_rows n HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE FUNCTION pulse.first_seen_interactions_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.first_seen_forget(array_agg(o.channel), array_agg(o.account_key), array_agg(o.occurred_at))
     FROM old_rows o HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- ---- row-level trigger function (hypertables; and UPDATEs on every tier) ----------------------
-- TG_ARGV[0]: the time column ('created_at' | 'occurred_at'). UPDATE fires only when the row turns
-- into or out of an engagement (see the WHEN clauses below).
CREATE FUNCTION pulse.first_seen_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- Nested IFs, not one OR: an expression naming OLD.relation fails on interactions rows.
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    IF TG_ARGV[0] = 'occurred_at' THEN
      PERFORM pulse.first_seen_forget(ARRAY[OLD.channel], ARRAY[OLD.account_key], ARRAY[OLD.occurred_at]);
    ELSIF pulse.is_engagement(OLD.relation, OLD.thread_root_id) THEN
      PERFORM pulse.first_seen_forget(ARRAY[OLD.channel], ARRAY[OLD.account_key], ARRAY[OLD.created_at]);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    IF TG_ARGV[0] = 'occurred_at' THEN
      PERFORM pulse.first_seen_note(ARRAY[NEW.channel], ARRAY[NEW.account_key], ARRAY[NEW.occurred_at]);
    ELSIF pulse.is_engagement(NEW.relation, NEW.thread_root_id) THEN
      PERFORM pulse.first_seen_note(ARRAY[NEW.channel], ARRAY[NEW.account_key], ARRAY[NEW.created_at]);
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- Writers wait while the triggers are added and the table is filled, so no row slips in between.
LOCK TABLE pulse.statuses, pulse.interactions IN SHARE ROW EXCLUSIVE MODE;

DO $$
BEGIN
  IF pulse.tier() = 'postgres' THEN
    CREATE TRIGGER first_seen_insert AFTER INSERT ON pulse.statuses
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.first_seen_statuses_inserted();
    CREATE TRIGGER first_seen_delete AFTER DELETE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.first_seen_statuses_deleted();
    CREATE TRIGGER first_seen_insert AFTER INSERT ON pulse.interactions
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.first_seen_interactions_inserted();
    CREATE TRIGGER first_seen_delete AFTER DELETE ON pulse.interactions
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.first_seen_interactions_deleted();
  ELSE
    CREATE TRIGGER first_seen_insert AFTER INSERT ON pulse.statuses
      FOR EACH ROW WHEN (pulse.is_engagement(NEW.relation, NEW.thread_root_id))
      EXECUTE FUNCTION pulse.first_seen_row('created_at');
    CREATE TRIGGER first_seen_delete AFTER DELETE ON pulse.statuses
      FOR EACH ROW WHEN (pulse.is_engagement(OLD.relation, OLD.thread_root_id))
      EXECUTE FUNCTION pulse.first_seen_row('created_at');
    CREATE TRIGGER first_seen_insert AFTER INSERT ON pulse.interactions
      FOR EACH ROW EXECUTE FUNCTION pulse.first_seen_row('occurred_at');
    CREATE TRIGGER first_seen_delete AFTER DELETE ON pulse.interactions
      FOR EACH ROW EXECUTE FUNCTION pulse.first_seen_row('occurred_at');
  END IF;
  -- Every tier: row-level, and only when engagement-ness flips (text purges never fire it; the
  -- column list keeps it from even being checked for them).
  CREATE TRIGGER first_seen_update AFTER UPDATE OF relation, thread_root_id ON pulse.statuses
    FOR EACH ROW
    WHEN (pulse.is_engagement(OLD.relation, OLD.thread_root_id)
          IS DISTINCT FROM pulse.is_engagement(NEW.relation, NEW.thread_root_id))
    EXECUTE FUNCTION pulse.first_seen_row('created_at');
END $$;

SELECT pulse.first_seen_rebuild();
