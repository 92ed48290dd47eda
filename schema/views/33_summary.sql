-- 33_summary: kpi.summary(from, to, channel, format). Re-runnable.
--
-- Exact for any range: distinct counts come from the events themselves, never from adding up buckets.
-- Two families of columns (documented in docs/sql.md):
--   the posts published in [from, to)  -> posts, replies, favourites, reblogs, replies_per_post,
--                                          reply_like_ratio (their counts so far, as kpi.post_stats)
--   what happened in [from, to)        -> distinct/new/returning accounts, city_replies,
--                                          answered_share, median_response_seconds
-- channel and format narrow both families; with a format, engagements count when they are about a
-- post of that format (follows and mentions outside threads then drop out), and "returning" means
-- seen before in the same channel/format scope.
--
-- How it stays fast:
--   * distinct and returning accounts: the account sets of the rollups (23_rollups.sql
--     pulse.account_set): distinct = |active set|, returning = |active set AND set before `from`|;
--     the work grows with the number of days and hours in the range, not with the events.
--   * the city's answers, answered within 72 h and response times: the stored addressed replies
--     and answers and their hourly and daily counts (pulse.reply_responses, pulse.city_answers,
--     pulse.rollup_responses; 26_reply_responses.sql).
CREATE OR REPLACE FUNCTION kpi.summary(p_from timestamptz, p_to timestamptz,
                            p_channel text DEFAULT NULL, p_format text DEFAULT NULL)
RETURNS TABLE (posts bigint, replies bigint, favourites bigint, reblogs bigint,
               replies_per_post numeric, reply_like_ratio numeric,
               distinct_accounts bigint, new_accounts bigint, returning_accounts bigint,
               city_replies bigint, answered_share numeric, median_response_seconds double precision)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- JIT: the lateral per-post parts are costed high, and ~1 s of compilation dwarfs the query itself.
-- work_mem: room for the hashed set of accounts seen before (and the distinct active accounts)
-- in memory; at the default 4 MB a busy month spills to disk or loses the hashed subplan. No
-- parallel workers: the distinct-account step then gathers and re-sorts every partial result.
SET jit = off SET work_mem = '64MB' SET max_parallel_workers_per_gather = 0 AS $$
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
    RAISE EXCEPTION 'kpi.summary: need from < to (got % .. %)', p_from, p_to
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- EXECUTE: planned with the actual values every call, so the optional filters fold away
  RETURN QUERY EXECUTE $q$
    WITH cohort_posts AS MATERIALIZED (
      -- the posts published in the range (statuses_posts_time_idx)
      SELECT p.channel, p.status_id
        FROM pulse.statuses p
       WHERE p.relation = 'own_post' AND p.in_reply_to_id IS NULL
         AND p.created_at >= $1 AND p.created_at < $2
         AND ($3::text IS NULL OR p.channel = $3)
         AND ($4::text IS NULL OR pulse.post_format(p.tags) = $4)
    ), totals AS (
      -- their rollup sums, in one grouped read of the day rows instead of two probes per post
      SELECT x.channel, x.post_ref, sum(x.replies) AS replies, sum(x.favourites) AS favourites,
             sum(x.reblogs) AS reblogs
        FROM (SELECT s.channel, s.post_ref, s.replies, 0::bigint AS favourites, 0::bigint AS reblogs
                FROM pulse.activity_statuses_1d s
                JOIN cohort_posts c ON c.channel = s.channel AND c.status_id = s.post_ref
              UNION ALL
              SELECT i.channel, i.post_ref, 0, i.favourites, i.reblogs
                FROM pulse.activity_interactions_1d i
                JOIN cohort_posts c ON c.channel = i.channel AND c.status_id = i.post_ref) x
       GROUP BY x.channel, x.post_ref
    ), cohort AS (
      -- with their counts so far, by kpi.post_stats' rules: the newest favourite and reblog (one
      -- backward index probe each) against the latest snapshot -- no thread scans
      SELECT count(*) AS posts,
             coalesce(sum(tot.replies), 0)::bigint AS replies,
             coalesce(sum(CASE WHEN snap.observed_at > coalesce(lf.at, '-infinity')
                               THEN snap.favourites ELSE coalesce(tot.favourites, 0) END), 0)::bigint AS favourites,
             coalesce(sum(CASE WHEN snap.observed_at > coalesce(lr.at, '-infinity')
                               THEN snap.reblogs ELSE coalesce(tot.reblogs, 0) END), 0)::bigint AS reblogs
        FROM cohort_posts p
        LEFT JOIN totals tot ON tot.channel = p.channel AND tot.post_ref = p.status_id
        LEFT JOIN LATERAL (
              SELECT s.observed_at, s.favourites, s.reblogs FROM pulse.post_snapshots s
               WHERE s.channel = p.channel AND s.post_id = p.status_id
               ORDER BY s.observed_at DESC LIMIT 1) snap ON true
        LEFT JOIN LATERAL (
              SELECT max(i.occurred_at) AS at FROM pulse.interactions i
               WHERE i.channel = p.channel AND i.status_id = p.status_id AND i.kind = 'favourite') lf ON true
        LEFT JOIN LATERAL (
              SELECT max(i.occurred_at) AS at FROM pulse.interactions i
               WHERE i.channel = p.channel AND i.status_id = p.status_id AND i.kind = 'reblog') lr ON true
    ), sets AS (
      -- account sets from the rollups: whole days and hours, events only at the edges
      SELECT pulse.account_set($1, $2, $3, $4) AS active,
             pulse.account_set('-infinity', $1, $3, $4) AS before
    ), accounts AS (
      SELECT coalesce(bit_count(x.active), 0) AS distinct_accounts,
             pulse.bits_common(x.active, x.before) AS returning_accounts
        FROM sets x
    ), answers AS (
      -- the channel's answers written in the range, from the same rollup
      SELECT coalesce(sum(x.answers), 0)::bigint AS city_replies
        FROM pulse.response_counts($1, $2, $3) x
        LEFT JOIN pulse.post_formats o ON o.channel = x.channel AND o.status_id = x.post_id
       WHERE ($4::text IS NULL OR o.format = $4)
    ), due AS (
      -- addressed replies written in the range and older than 72 h, and how many were answered
      -- within 72 h: per post from the response rollup (26_reply_responses.sql), whole hours from
      -- pulse.rollup_responses and only the edges from the replies
      SELECT coalesce(sum(x.addressed), 0) AS due, coalesce(sum(x.in_time), 0) AS in_time
        FROM pulse.response_counts($1, least($2, greatest($1, now() - interval '72 hours')), $3) x
        LEFT JOIN pulse.post_formats o ON o.channel = x.channel AND o.status_id = x.post_id
       WHERE ($4::text IS NULL OR o.format = $4)
    ), median AS (
      -- the answered ones among the range's addressed replies (a few per cent of them); a post's
      -- format as pulse.own_statuses gives it for a thread's post (pulse.post_formats: posts only)
      SELECT percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM e.answered_at - e.replied_at)::double precision) AS median_seconds
        FROM pulse.reply_responses e
       WHERE e.answered_at IS NOT NULL AND e.replied_at >= $1 AND e.replied_at < $2
         AND ($3::text IS NULL OR e.channel = $3)
         AND ($4::text IS NULL OR (e.channel, e.post_id) IN (SELECT o.channel, o.status_id FROM pulse.post_formats o
                                                              WHERE o.format = $4))
    )
    SELECT c.posts, c.replies, c.favourites, c.reblogs,
           c.replies::numeric / nullif(c.posts, 0),
           c.replies::numeric / nullif(c.favourites, 0),
           a.distinct_accounts,
           a.distinct_accounts - a.returning_accounts,
           a.returning_accounts,
           w.city_replies,
           r.in_time::numeric / nullif(r.due, 0),
           m.median_seconds
      FROM cohort c, accounts a, answers w, due r, median m$q$
  USING p_from, p_to, p_channel, p_format;
END $$;

REVOKE ALL ON FUNCTION kpi.summary(timestamptz, timestamptz, text, text) FROM PUBLIC;

COMMENT ON FUNCTION kpi.summary(timestamptz, timestamptz, text, text) IS
  'kpi.summary(from, to, channel default NULL, format default NULL): one row, exact for any range [from, to). '
  'For the posts published in the range (their counts so far): posts, replies (statuses by other accounts anywhere '
  'in their threads), favourites, reblogs (net, as kpi.post_stats), replies_per_post = replies / posts, '
  'reply_like_ratio = replies / favourites (NULL without favourites). For what happened in the range: '
  'distinct_accounts (accounts other than the channel''s with any engagement), returning_accounts (those of them '
  'with an engagement before from), new_accounts = distinct - returning, city_replies (the channel''s answers), '
  'answered_share (resident replies addressed to the city answered within 72 h / those older than 72 h), '
  'median_response_seconds (of the answered ones). Pseudonymous.';
