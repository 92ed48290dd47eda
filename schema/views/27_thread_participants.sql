-- 27_thread_participants: keeping pulse.thread_participants and pulse.thread_stats (022) exact, and
-- their (re)build from the stored events. Re-runnable: triggers are dropped and made again in this
-- transaction, so no write slips between them.
--
-- A status *takes part* in the thread of post P when it is another account's status (relation <>
-- 'own_post') with thread_root_id = P: exactly the rows kpi.post_stats and kpi.sessions counted
-- from the thread. Maintenance, in the writer's transaction:
--   * statuses take part          -> their accounts' counts go up; an account whose count was zero
--                                    is a new replier of the post (and a new participant when it was
--                                    first seen by the channel at or after the post); first and last
--                                    reply move outwards;
--   * statuses stop taking part   -> counts go down; an account at zero is no replier any more;
--     (deleted, moved to another     when the first or last reply went, it is found again with one
--      thread, or became the          probe of the thread index;
--      channel's own)
--   * a top-level post stored, changed or removed -> its posted_at and new participants are
--                                    counted again (once per post; its thread is usually empty then);
--   * an account's first engagement with the channel moved (pulse.account_first_seen, kept by the
--     rollup functions) -> the posts published between the old and the new moment gain or lose it
--     as a new participant.
-- An UPDATE that places a status in a thread (the sink resolves threads after inserting) is a
-- removal of the old row and an insertion of the new one.
-- Triggers: as 24_rollup_triggers.sql (statement-level with transition tables for INSERT on every
-- tier, for DELETE and UPDATE on plain PostgreSQL; row-level for those on TimescaleDB).
-- new_participants stays exact whichever comes first, the participant change or the first-seen
-- change (the rollups may defer theirs to the end of the sink's batch, pulse.rollup_flush): each
-- is applied as a difference against the other table as it is at that moment -- a participant
-- counts as new or returning by the first-seen row as it stands, and a first-seen move re-judges
-- the participants that stand.
-- Exact for one writer at a time (the ingester commits its batches one after another), like the
-- first-seen table these counts read.

-- ---- maintenance ---------------------------------------------------------------------------------
-- Statuses took part in threads: (channel, post, account, created_at) per status.
CREATE OR REPLACE FUNCTION pulse.thread_add(p_channel text[], p_post text[], p_account text[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  WITH u AS (
    SELECT x.c, x.p, x.a, count(*)::integer AS n, min(x.t) AS lo, max(x.t) AS hi
      FROM unnest(p_channel, p_post, p_account, p_at) AS x(c, p, a, t)
     GROUP BY 1, 2, 3
  ), counted AS (
    INSERT INTO pulse.thread_participants AS tp (channel, account_key, post_id, replies)
    SELECT u.c, u.a, u.p, u.n FROM u
     ORDER BY 1, 2, 3          -- one lock order for concurrent writers
    ON CONFLICT (channel, account_key, post_id) DO UPDATE SET replies = tp.replies + excluded.replies
    RETURNING tp.channel, tp.account_key, tp.post_id, tp.replies
  ), per_post AS (
    -- a count equal to what was added was zero before: a new replier
    -- (the lookups are subqueries: one probe each, whatever the planner thinks of young tables)
    SELECT u.c, u.p, min(u.lo) AS lo, max(u.hi) AS hi,
           count(*) FILTER (WHERE k.replies = u.n) AS gained,
           count(*) FILTER (WHERE k.replies = u.n
                              AND coalesce((SELECT f.first_seen_at FROM pulse.account_first_seen f
                                             WHERE f.channel = u.c AND f.account_key = u.a), 'infinity')
                                  >= (SELECT s.posted_at FROM pulse.thread_stats s
                                       WHERE s.channel = u.c AND s.post_id = u.p)) AS gained_new
      FROM u
      JOIN counted k ON k.channel = u.c AND k.account_key = u.a AND k.post_id = u.p
     GROUP BY 1, 2
  )
  INSERT INTO pulse.thread_stats AS s (channel, post_id, repliers, new_participants, first_reply_at, last_reply_at)
  SELECT pp.c, pp.p, pp.gained, pp.gained_new, pp.lo, pp.hi FROM per_post pp
   ORDER BY 1, 2
  ON CONFLICT (channel, post_id) DO UPDATE SET
    repliers = s.repliers + excluded.repliers,
    new_participants = s.new_participants + excluded.new_participants,
    first_reply_at = least(s.first_reply_at, excluded.first_reply_at),
    last_reply_at = greatest(s.last_reply_at, excluded.last_reply_at);
END $$;

-- Statuses stopped taking part (they are no longer in the table, or no longer in that thread).
CREATE OR REPLACE FUNCTION pulse.thread_remove(p_channel text[], p_post text[], p_account text[], p_at timestamptz[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  WITH u AS (
    SELECT x.c, x.p, x.a, count(*)::integer AS n, min(x.t) AS lo, max(x.t) AS hi
      FROM unnest(p_channel, p_post, p_account, p_at) AS x(c, p, a, t)
     GROUP BY 1, 2, 3
  ), counted AS (
    UPDATE pulse.thread_participants tp SET replies = tp.replies - u.n
      FROM u
     WHERE tp.channel = u.c AND tp.account_key = u.a AND tp.post_id = u.p
    RETURNING tp.channel, tp.account_key, tp.post_id, tp.replies
  ), per_post AS (
    -- a count now zero: no replier any more (judged new or returning by the first-seen table as it
    -- is now, which is how it is counted: every first-seen move so far has re-judged it)
    SELECT u.c, u.p, min(u.lo) AS lo, max(u.hi) AS hi,
           count(*) FILTER (WHERE k.replies = 0) AS lost,
           count(*) FILTER (WHERE k.replies = 0
                              AND coalesce((SELECT f.first_seen_at FROM pulse.account_first_seen f
                                             WHERE f.channel = u.c AND f.account_key = u.a), 'infinity')
                                  >= (SELECT s.posted_at FROM pulse.thread_stats s
                                       WHERE s.channel = u.c AND s.post_id = u.p)) AS lost_new
      FROM u
      JOIN counted k ON k.channel = u.c AND k.account_key = u.a AND k.post_id = u.p
     GROUP BY 1, 2
  )
  UPDATE pulse.thread_stats s SET
    repliers = s.repliers - pp.lost,
    new_participants = s.new_participants - pp.lost_new,
    -- the first (last) reply went: the earliest (latest) one left, one probe of the thread index
    first_reply_at = CASE WHEN s.first_reply_at >= pp.lo
                          THEN (SELECT min(r.created_at) FROM pulse.statuses r
                                 WHERE r.channel = s.channel AND r.thread_root_id = s.post_id
                                   AND r.relation <> 'own_post')
                          ELSE s.first_reply_at END,
    last_reply_at = CASE WHEN s.last_reply_at <= pp.hi
                         THEN (SELECT max(r.created_at) FROM pulse.statuses r
                                WHERE r.channel = s.channel AND r.thread_root_id = s.post_id
                                  AND r.relation <> 'own_post')
                         ELSE s.last_reply_at END
    FROM per_post pp
   WHERE s.channel = pp.c AND s.post_id = pp.p;
END $$;

-- Top-level posts of the channel were stored, changed or removed: their publication time and new
-- participants, counted again from the thread (usually empty when a post arrives). p_new: the rows
-- the statement being handled inserted or changed them to. They are read from here as well as from
-- the table, because on TimescaleDB a row just inserted into a compressed chunk is not yet visible to
-- queries on the hypertable while the statement's AFTER triggers run (26_reply_responses.sql); where
-- it is visible, reading it twice changes nothing below.
CREATE OR REPLACE FUNCTION pulse.thread_posts(p_channel text[], p_post text[], p_new pulse.statuses[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  WITH nw AS (
    SELECT * FROM unnest(p_new)
  )
  INSERT INTO pulse.thread_stats AS s (channel, post_id, posted_at, new_participants)
  SELECT k.c, k.p, pa.at,
         CASE WHEN pa.at IS NULL THEN 0
              ELSE (SELECT count(*)
                      FROM (SELECT r.account_key FROM pulse.statuses r
                             WHERE r.channel = k.c AND r.thread_root_id = k.p AND r.relation <> 'own_post'
                            UNION
                            SELECT r.account_key FROM nw r
                             WHERE r.channel = k.c AND r.thread_root_id = k.p AND r.relation <> 'own_post') d
                     WHERE coalesce((SELECT f.first_seen_at FROM pulse.account_first_seen f
                                      WHERE f.channel = k.c AND f.account_key = d.account_key), 'infinity')
                           >= pa.at) END
    FROM (SELECT DISTINCT x.c, x.p FROM unnest(p_channel, p_post) AS x(c, p)) k
    -- (OFFSET 0: found by the post's id, once; min() over the table alone would walk the index of
    -- posts by time instead)
    CROSS JOIN LATERAL (
          SELECT min(o.created_at) AS at
            FROM (SELECT o.created_at FROM pulse.statuses o
                   WHERE o.channel = k.c AND o.status_id = k.p
                     AND o.relation = 'own_post' AND o.in_reply_to_id IS NULL
                  UNION ALL
                  SELECT o.created_at FROM nw o
                   WHERE o.channel = k.c AND o.status_id = k.p
                     AND o.relation = 'own_post' AND o.in_reply_to_id IS NULL
                  OFFSET 0) o
          OFFSET 0) pa
   ORDER BY 1, 2
  ON CONFLICT (channel, post_id) DO UPDATE SET posted_at = excluded.posted_at,
                                               new_participants = excluded.new_participants
   WHERE s.posted_at IS DISTINCT FROM excluded.posted_at OR s.new_participants <> excluded.new_participants;
END $$;

-- Accounts' first engagement with the channel moved from p_old to p_new (NULL: not seen, which
-- counts as later than any post). A replier of a post published at P is new when its first engagement
-- is at or after P, so exactly the posts with old < P <= new (or new < P <= old) change, by one.
CREATE OR REPLACE FUNCTION pulse.thread_newness_move(p_channel text[], p_account text[], p_old timestamptz[],
                                                     p_new timestamptz[])
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE pulse.thread_stats s SET new_participants = s.new_participants + d.delta
    FROM (SELECT m.c, t.post_id, sum(CASE WHEN m.new_at >= t.posted_at THEN 1 ELSE -1 END)::integer AS delta
            FROM (SELECT x.c, x.a, coalesce(x.o, 'infinity') AS old_at, coalesce(x.n, 'infinity') AS new_at
                    FROM unnest(p_channel, p_account, p_old, p_new) AS x(c, a, o, n)
                   WHERE x.o IS DISTINCT FROM x.n) m
            -- the account's threads through the key (OFFSET 0: a probe per account, never a walk of
            -- the posts published in between, whose participants are not keyed by post)
            CROSS JOIN LATERAL (SELECT tp.post_id,
                                       (SELECT ts.posted_at FROM pulse.thread_stats ts
                                         WHERE ts.channel = tp.channel AND ts.post_id = tp.post_id) AS posted_at
                                  FROM pulse.thread_participants tp
                                 WHERE tp.channel = m.c AND tp.account_key = m.a AND tp.replies > 0
                                OFFSET 0) t
           WHERE t.posted_at > least(m.old_at, m.new_at) AND t.posted_at <= greatest(m.old_at, m.new_at)
           GROUP BY 1, 2) d
   WHERE s.channel = d.c AND s.post_id = d.post_id AND d.delta <> 0;
END $$;

-- New participants of every post, from the participants and the first-seen table as they are now.
CREATE OR REPLACE FUNCTION pulse.thread_newness_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  UPDATE pulse.thread_stats s SET new_participants = coalesce(x.n, 0)
    FROM pulse.thread_stats s0
    LEFT JOIN (SELECT tp.channel, tp.post_id, count(*)::integer AS n
                 FROM pulse.thread_participants tp
                 JOIN pulse.thread_stats ts ON ts.channel = tp.channel AND ts.post_id = tp.post_id
                 LEFT JOIN pulse.account_first_seen f ON f.channel = tp.channel AND f.account_key = tp.account_key
                WHERE tp.replies > 0 AND coalesce(f.first_seen_at, 'infinity') >= ts.posted_at
                GROUP BY 1, 2) x ON x.channel = s0.channel AND x.post_id = s0.post_id
   WHERE s.channel = s0.channel AND s.post_id = s0.post_id AND s.new_participants <> coalesce(x.n, 0);
END $$;

-- ---- trigger functions ---------------------------------------------------------------------------
-- As in 24_rollup_triggers.sql, each turns hash and merge joins back on (the sink turns them off for
-- its own statements, and a join of transition tables must not be a nested loop).
CREATE OR REPLACE FUNCTION pulse.thread_statuses_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  PERFORM pulse.thread_add(array_agg(n.channel), array_agg(n.thread_root_id), array_agg(n.account_key),
                           array_agg(n.created_at))
     FROM new_rows n WHERE n.relation <> 'own_post' AND n.thread_root_id IS NOT NULL HAVING count(*) > 0;
  -- new posts, with the statement's rows in their threads (see pulse.thread_posts)
  PERFORM pulse.thread_posts(array_agg(n.channel) FILTER (WHERE n.top), array_agg(n.status_id) FILTER (WHERE n.top),
                             array_agg(n.r))
     FROM (SELECT n::pulse.statuses AS r, n.channel, n.status_id, n.relation = 'own_post' AND n.in_reply_to_id IS NULL AS top
             FROM new_rows n
            WHERE (n.relation = 'own_post' AND n.in_reply_to_id IS NULL)
               OR (n.relation <> 'own_post'
                   AND (n.channel, n.thread_root_id) IN (SELECT t.channel, t.status_id FROM new_rows t
                                                          WHERE t.relation = 'own_post' AND t.in_reply_to_id IS NULL))) n
   HAVING count(*) FILTER (WHERE n.top) > 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION pulse.thread_statuses_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  PERFORM pulse.thread_remove(array_agg(o.channel), array_agg(o.thread_root_id), array_agg(o.account_key),
                              array_agg(o.created_at))
     FROM old_rows o WHERE o.relation <> 'own_post' AND o.thread_root_id IS NOT NULL HAVING count(*) > 0;
  PERFORM pulse.thread_posts(array_agg(o.channel), array_agg(o.status_id), '{}')
     FROM old_rows o WHERE o.relation = 'own_post' AND o.in_reply_to_id IS NULL HAVING count(*) > 0;
  RETURN NULL;
END $$;

-- UPDATEs (plain PostgreSQL): only rows whose part in a thread changed go out and come back in; a
-- row that is or was a top-level post of the channel has its post counted again. Most updates (a
-- newer edit's text, a mention flag, a relation upgrade among residents' statuses) change neither
-- and cost one join of the transition tables. A row that changed its key meets no partner in the
-- join: it is taken out and put back as well.
CREATE OR REPLACE FUNCTION pulse.thread_statuses_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  r record;
BEGIN
  SELECT array_agg(c.o_channel) FILTER (WHERE c.out) AS out_channel,
         array_agg(c.o_root) FILTER (WHERE c.out) AS out_post,
         array_agg(c.o_account) FILTER (WHERE c.out) AS out_account,
         array_agg(c.o_at) FILTER (WHERE c.out) AS out_at,
         array_agg(c.n_channel) FILTER (WHERE c.inn) AS in_channel,
         array_agg(c.n_root) FILTER (WHERE c.inn) AS in_post,
         array_agg(c.n_account) FILTER (WHERE c.inn) AS in_account,
         array_agg(c.n_at) FILTER (WHERE c.inn) AS in_at,
         array_agg(c.post_channel) FILTER (WHERE c.post) AS post_channel,
         array_agg(c.post_id) FILTER (WHERE c.post) AS post_id
    INTO r
    FROM (SELECT x.*,
                 x.o_part AND NOT (x.n_part AND x.o_channel = x.n_channel AND x.o_root = x.n_root
                                   AND x.o_account = x.n_account AND x.o_at = x.n_at) AS out,
                 x.n_part AND NOT (x.o_part AND x.o_channel = x.n_channel AND x.o_root = x.n_root
                                   AND x.o_account = x.n_account AND x.o_at = x.n_at) AS inn,
                 coalesce(x.o_top, false) IS DISTINCT FROM coalesce(x.n_top, false)
                   OR (x.o_top AND x.n_top AND x.o_at IS DISTINCT FROM x.n_at) AS post,
                 coalesce(x.n_channel, x.o_channel) AS post_channel,
                 coalesce(x.n_id, x.o_id) AS post_id
            FROM (SELECT o.channel AS o_channel, o.thread_root_id AS o_root, o.account_key AS o_account,
                         o.created_at AS o_at, o.status_id AS o_id,
                         coalesce(o.relation <> 'own_post' AND o.thread_root_id IS NOT NULL, false) AS o_part,
                         o.relation = 'own_post' AND o.in_reply_to_id IS NULL AS o_top,
                         n.channel AS n_channel, n.thread_root_id AS n_root, n.account_key AS n_account,
                         n.created_at AS n_at, n.status_id AS n_id,
                         coalesce(n.relation <> 'own_post' AND n.thread_root_id IS NOT NULL, false) AS n_part,
                         n.relation = 'own_post' AND n.in_reply_to_id IS NULL AS n_top
                    FROM old_rows o
                    FULL JOIN new_rows n ON n.channel = o.channel AND n.status_id = o.status_id
                                        AND n.created_at = o.created_at
                   WHERE o.status_id IS NULL OR n.status_id IS NULL
                      OR o.relation IS DISTINCT FROM n.relation OR o.thread_root_id IS DISTINCT FROM n.thread_root_id
                      OR o.account_key IS DISTINCT FROM n.account_key
                      OR o.in_reply_to_id IS DISTINCT FROM n.in_reply_to_id) x) c;
  IF r.out_channel IS NOT NULL THEN
    PERFORM pulse.thread_remove(r.out_channel, r.out_post, r.out_account, r.out_at);
  END IF;
  IF r.in_channel IS NOT NULL THEN
    PERFORM pulse.thread_add(r.in_channel, r.in_post, r.in_account, r.in_at);
  END IF;
  IF r.post_channel IS NOT NULL THEN    -- (plain PostgreSQL only: every row is visible, p_new is not needed)
    PERFORM pulse.thread_posts(r.post_channel, r.post_id, '{}');
  END IF;
  RETURN NULL;
END $$;

-- Row-level (UPDATEs and DELETEs on TimescaleDB).
CREATE OR REPLACE FUNCTION pulse.thread_status_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  o_part boolean := OLD.relation <> 'own_post' AND OLD.thread_root_id IS NOT NULL;
  o_top boolean := OLD.relation = 'own_post' AND OLD.in_reply_to_id IS NULL;
  n_part boolean := false;
  n_top boolean := false;
  same_row boolean := false;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    n_part := NEW.relation <> 'own_post' AND NEW.thread_root_id IS NOT NULL;
    n_top := NEW.relation = 'own_post' AND NEW.in_reply_to_id IS NULL;
    same_row := OLD.channel = NEW.channel AND OLD.status_id = NEW.status_id AND OLD.created_at = NEW.created_at;
  END IF;
  IF o_part AND NOT (n_part AND same_row AND OLD.thread_root_id = NEW.thread_root_id
                     AND OLD.account_key = NEW.account_key) THEN
    PERFORM pulse.thread_remove(ARRAY[OLD.channel], ARRAY[OLD.thread_root_id], ARRAY[OLD.account_key],
                                ARRAY[OLD.created_at]);
  END IF;
  IF n_part AND NOT (o_part AND same_row AND OLD.thread_root_id = NEW.thread_root_id
                     AND OLD.account_key = NEW.account_key) THEN
    PERFORM pulse.thread_add(ARRAY[NEW.channel], ARRAY[NEW.thread_root_id], ARRAY[NEW.account_key],
                             ARRAY[NEW.created_at]);
  END IF;
  IF o_top THEN
    PERFORM pulse.thread_posts(ARRAY[OLD.channel], ARRAY[OLD.status_id],
                               CASE WHEN TG_OP = 'UPDATE' THEN ARRAY[NEW]::pulse.statuses[] ELSE '{}' END);
  END IF;
  IF n_top AND NOT (o_top AND OLD.channel = NEW.channel AND OLD.status_id = NEW.status_id) THEN
    PERFORM pulse.thread_posts(ARRAY[NEW.channel], ARRAY[NEW.status_id], ARRAY[NEW]::pulse.statuses[]);
  END IF;
  RETURN NULL;
END $$;

-- pulse.account_first_seen changed (the rollup functions keep it, in the same statement as the
-- events): the posts between an account's old and new first engagement move it between new and
-- returning. Statement-level on every tier (a plain table). Usually the accounts are new ones, with
-- no thread behind them yet: one probe each.
CREATE OR REPLACE FUNCTION pulse.thread_first_seen_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pulse.thread_newness_move(array_agg(n.channel), array_agg(n.account_key),
                                      array_agg(NULL::timestamptz), array_agg(n.first_seen_at))
       FROM new_rows n HAVING count(*) > 0;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pulse.thread_newness_move(array_agg(o.channel), array_agg(o.account_key),
                                      array_agg(o.first_seen_at), array_agg(NULL::timestamptz))
       FROM old_rows o HAVING count(*) > 0;
  ELSE
    -- a row whose key changed meets no partner: it left one account and joined another
    PERFORM pulse.thread_newness_move(array_agg(coalesce(n.channel, o.channel)),
                                      array_agg(coalesce(n.account_key, o.account_key)),
                                      array_agg(o.first_seen_at), array_agg(n.first_seen_at))
       FROM old_rows o
       FULL JOIN new_rows n ON n.channel = o.channel AND n.account_key = o.account_key
      WHERE o.first_seen_at IS DISTINCT FROM n.first_seen_at
     HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;

-- An operator emptied the first-seen table: every post's new participants again.
CREATE OR REPLACE FUNCTION pulse.thread_first_seen_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.thread_newness_rebuild();
  RETURN NULL;
END $$;

-- An operator emptied pulse.statuses (TRUNCATE fires none of the triggers above): build again.
CREATE OR REPLACE FUNCTION pulse.thread_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM pulse.thread_rebuild();
  RETURN NULL;
END $$;

-- ---- (re)build from the stored events -----------------------------------------------------------
-- Day by day (UTC) in time order, adding each day's counts, with a NOTICE per tenth that `ingester
-- migrate` shows as progress; then the posts, their repliers and new participants.
CREATE OR REPLACE FUNCTION pulse.thread_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = on SET enable_mergejoin = on AS $$
DECLARE
  first_at timestamptz;
  last_at timestamptz;
  d timestamptz;
  total integer;
  done integer := 0;
  shown integer := 0;
BEGIN
  -- DELETE, not TRUNCATE: this also runs inside a TRUNCATE of pulse.statuses
  DELETE FROM pulse.thread_participants;
  DELETE FROM pulse.thread_stats;
  SELECT date_trunc('day', min(s.created_at), 'UTC'), max(s.created_at) INTO first_at, last_at
    FROM pulse.statuses s WHERE s.relation <> 'own_post' AND s.thread_root_id IS NOT NULL;
  IF first_at IS NOT NULL THEN
    total := floor(extract(epoch FROM last_at - first_at) / 86400)::integer + 1;
    d := first_at;
    WHILE d <= last_at LOOP
      WITH g AS MATERIALIZED (
        SELECT s.channel, s.thread_root_id AS post_id, s.account_key, count(*)::integer AS n,
               min(s.created_at) AS lo, max(s.created_at) AS hi
          FROM pulse.statuses s
         WHERE s.created_at >= d AND s.created_at < d + interval '1 day'
           AND s.relation <> 'own_post' AND s.thread_root_id IS NOT NULL
         GROUP BY 1, 2, 3
      ), counted AS (
        INSERT INTO pulse.thread_participants AS tp (channel, account_key, post_id, replies)
        SELECT g.channel, g.account_key, g.post_id, g.n FROM g
        ON CONFLICT (channel, account_key, post_id) DO UPDATE SET replies = tp.replies + excluded.replies
      )
      INSERT INTO pulse.thread_stats AS s (channel, post_id, first_reply_at, last_reply_at)
      SELECT g.channel, g.post_id, min(g.lo), max(g.hi) FROM g GROUP BY 1, 2
      ON CONFLICT (channel, post_id) DO UPDATE SET
        first_reply_at = least(s.first_reply_at, excluded.first_reply_at),
        last_reply_at = greatest(s.last_reply_at, excluded.last_reply_at);
      done := done + 1;
      IF done * 10 / total > shown OR done = total THEN
        shown := done * 10 / total;
        RAISE NOTICE 'thread participants: %/% days', done, total;
      END IF;
      d := d + interval '1 day';
    END LOOP;
  END IF;
  INSERT INTO pulse.thread_stats AS s (channel, post_id, posted_at)
  SELECT o.channel, o.status_id, min(o.created_at) FROM pulse.statuses o
   WHERE o.relation = 'own_post' AND o.in_reply_to_id IS NULL
   GROUP BY 1, 2
  ON CONFLICT (channel, post_id) DO UPDATE SET posted_at = excluded.posted_at;
  UPDATE pulse.thread_stats s SET repliers = x.n
    FROM (SELECT tp.channel, tp.post_id, count(*)::integer AS n FROM pulse.thread_participants tp
           GROUP BY 1, 2) x
   WHERE s.channel = x.channel AND s.post_id = x.post_id;
  PERFORM pulse.thread_newness_rebuild();
END $$;

DO $do$
DECLARE
  timescale boolean := pulse.tier() <> 'postgres';   -- hypertables (Apache or full licence)
BEGIN
  -- Writers wait while the triggers are replaced (and the tables built), so none slips in between;
  -- the event tables in the order the sink takes them, then the first-seen table its triggers write.
  LOCK TABLE pulse.statuses, pulse.interactions, pulse.account_first_seen IN SHARE ROW EXCLUSIVE MODE;
  DROP TRIGGER IF EXISTS thread_insert ON pulse.statuses;
  DROP TRIGGER IF EXISTS thread_delete ON pulse.statuses;
  DROP TRIGGER IF EXISTS thread_update ON pulse.statuses;
  DROP TRIGGER IF EXISTS thread_truncate ON pulse.statuses;
  DROP TRIGGER IF EXISTS thread_insert ON pulse.account_first_seen;
  DROP TRIGGER IF EXISTS thread_delete ON pulse.account_first_seen;
  DROP TRIGGER IF EXISTS thread_update ON pulse.account_first_seen;
  DROP TRIGGER IF EXISTS thread_truncate ON pulse.account_first_seen;

  CREATE TRIGGER thread_insert AFTER INSERT ON pulse.statuses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_statuses_inserted();
  IF NOT timescale THEN
    CREATE TRIGGER thread_delete AFTER DELETE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_statuses_deleted();
    CREATE TRIGGER thread_update AFTER UPDATE ON pulse.statuses
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_statuses_updated();
  ELSE
    CREATE TRIGGER thread_delete AFTER DELETE ON pulse.statuses
      FOR EACH ROW EXECUTE FUNCTION pulse.thread_status_row();
    -- Only when a thread's part or a top-level post changed (text purges and edits never fire it).
    CREATE TRIGGER thread_update
      AFTER UPDATE OF channel, status_id, created_at, relation, account_key, in_reply_to_id, thread_root_id
      ON pulse.statuses FOR EACH ROW
      WHEN ((OLD.relation = 'own_post') IS DISTINCT FROM (NEW.relation = 'own_post')
            OR OLD.thread_root_id IS DISTINCT FROM NEW.thread_root_id
            OR OLD.account_key IS DISTINCT FROM NEW.account_key
            OR OLD.in_reply_to_id IS DISTINCT FROM NEW.in_reply_to_id
            OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.status_id IS DISTINCT FROM NEW.status_id
            OR OLD.created_at IS DISTINCT FROM NEW.created_at)
      EXECUTE FUNCTION pulse.thread_status_row();
  END IF;
  CREATE TRIGGER thread_truncate AFTER TRUNCATE ON pulse.statuses
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_truncated();

  CREATE TRIGGER thread_insert AFTER INSERT ON pulse.account_first_seen
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_first_seen_changed();
  CREATE TRIGGER thread_update AFTER UPDATE ON pulse.account_first_seen
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_first_seen_changed();
  CREATE TRIGGER thread_delete AFTER DELETE ON pulse.account_first_seen
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_first_seen_changed();
  CREATE TRIGGER thread_truncate AFTER TRUNCATE ON pulse.account_first_seen
    FOR EACH STATEMENT EXECUTE FUNCTION pulse.thread_first_seen_truncated();

  -- First migrate after the upgrade that added the tables.
  IF EXISTS (SELECT 1 FROM pulse.config WHERE key = 'thread_stats_rebuild_pending') THEN
    PERFORM pulse.thread_rebuild();
    DELETE FROM pulse.config WHERE key = 'thread_stats_rebuild_pending';
  END IF;
END $do$;
