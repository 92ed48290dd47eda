-- 31_post_stats: kpi.post_stats, one row per top-level post of a channel. Re-runnable.
--
-- Counts of favourites, reblogs and quotes follow one rule (per post, per kind): the latest REST
-- snapshot (pulse.post_snapshots) when it is newer than the newest such event we stored for the
-- post, because only a snapshot reflects un-favourites and un-boosts; otherwise the count of the
-- stored events (a snapshot older than the newest event would miss that event).
--
-- How it stays fast: replies, favourites and reblogs are the post's sums over its daily rollup rows
-- (pulse.activity_*_1d: a handful of rows per post instead of thousands of events; the rollup's
-- replies of a post are the statuses in its thread, because the sink places every reply to a
-- stored post in its thread); repliers and the first reply are the post's row of pulse.thread_stats
-- (022, kept by the triggers of 27_thread_participants.sql); the city's answers are counted among
-- the channel's own statuses in the thread only (statuses_thread_own_idx); the newest favourite and
-- reblog are one backward index probe each. Each part is its own join, so a query that does not
-- show a column does not pay for it (the planner drops unused joins that return one row).
CREATE OR REPLACE VIEW kpi.post_stats AS
SELECT p.channel,
       p.status_id                                                    AS post_id,
       p.created_at                                                   AS posted_at,
       p.url,
       pulse.post_format(p.tags)                                      AS format,
       p.tags,
       coalesce(tot.replies, 0)                                       AS replies,
       coalesce(ts.repliers, 0)::bigint                               AS repliers,
       fv.favourites,
       rb.reblogs,
       qt.quotes,
       coalesce(tot.replies, 0)::numeric / nullif(fv.favourites, 0)   AS reply_like_ratio,
       ts.first_reply_at,
       coalesce(cr.city_replies, 0)                                   AS city_replies,
       th.in_time::numeric / nullif(th.due, 0)                        AS answered_share
  FROM pulse.statuses p
  -- the post's counts from its daily rollup rows
  LEFT JOIN LATERAL (
        SELECT sum(x.replies)::bigint AS replies, sum(x.favourites)::bigint AS favourites,
               sum(x.reblogs)::bigint AS reblogs
          FROM (SELECT s.replies, 0::bigint AS favourites, 0::bigint AS reblogs
                  FROM pulse.activity_statuses_1d s WHERE s.channel = p.channel AND s.post_ref = p.status_id
                UNION ALL
                SELECT 0, i.favourites, i.reblogs
                  FROM pulse.activity_interactions_1d i WHERE i.channel = p.channel AND i.post_ref = p.status_id) x
       ) tot ON true
  -- repliers, first reply: kept per post by triggers
  LEFT JOIN pulse.thread_stats ts ON ts.channel = p.channel AND ts.post_id = p.status_id
  -- the channel's answers: its statuses in the thread replying to someone else's status
  LEFT JOIN LATERAL (
        SELECT count(*) AS city_replies
          FROM pulse.statuses a
         WHERE a.channel = p.channel AND a.thread_root_id = p.status_id AND a.relation = 'own_post'
           AND a.in_reply_to_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM pulse.statuses q
                            WHERE q.channel = p.channel AND q.thread_root_id = p.status_id
                              AND q.relation = 'own_post' AND q.status_id = a.in_reply_to_id)) cr ON true
  -- one scan of the thread: resident replies addressed to the city, and those answered within 72 h
  LEFT JOIN LATERAL (
        WITH thread AS (
          SELECT t.status_id, t.created_at, t.relation, t.account_key, t.in_reply_to_id, t.mentions_channel
            FROM pulse.statuses t
           WHERE t.channel = p.channel AND t.thread_root_id = p.status_id
        ), own AS (
          SELECT o.status_id, o.in_reply_to_id, o.created_at FROM thread o WHERE o.relation = 'own_post'
        ), addressed AS (
          -- as pulse.addressed_replies: a reply to a channel status, or one that mentions it
          SELECT r.status_id, r.created_at,
                 min(a.created_at) FILTER (WHERE a.created_at > r.created_at) AS answered_at
            FROM thread r
            LEFT JOIN own par ON par.status_id = r.in_reply_to_id
            LEFT JOIN own a ON a.in_reply_to_id = r.status_id
           WHERE r.relation <> 'own_post' AND r.in_reply_to_id IS NOT NULL
             AND r.created_at < now() - interval '72 hours'
             AND (r.relation = 'reply' OR r.mentions_channel OR par.status_id IS NOT NULL)
           GROUP BY r.status_id, r.created_at
        )
        SELECT (SELECT count(*) FROM addressed) AS due,
               (SELECT count(*) FROM addressed d
                 WHERE d.answered_at <= d.created_at + interval '72 hours') AS in_time
       ) th ON true
  LEFT JOIN LATERAL (
        SELECT s.observed_at, s.favourites, s.reblogs, s.quotes
          FROM pulse.post_snapshots s
         WHERE s.channel = p.channel AND s.post_id = p.status_id
         ORDER BY s.observed_at DESC
         LIMIT 1) snap ON true
  LEFT JOIN LATERAL (
        SELECT max(i.occurred_at) AS last_favourite FROM pulse.interactions i
         WHERE i.channel = p.channel AND i.status_id = p.status_id AND i.kind = 'favourite') lf ON true
  LEFT JOIN LATERAL (
        SELECT max(i.occurred_at) AS last_reblog FROM pulse.interactions i
         WHERE i.channel = p.channel AND i.status_id = p.status_id AND i.kind = 'reblog') lr ON true
  LEFT JOIN LATERAL (
        SELECT count(*) AS quotes, max(q.created_at) AS last_quote
          FROM pulse.statuses q
         WHERE q.channel = p.channel AND q.quoted_id = p.status_id
           AND q.relation <> 'own_post') qe ON true
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(lf.last_favourite, '-infinity')
                    THEN snap.favourites::bigint ELSE coalesce(tot.favourites, 0) END AS favourites) fv
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(lr.last_reblog, '-infinity')
                    THEN snap.reblogs::bigint ELSE coalesce(tot.reblogs, 0) END AS reblogs) rb
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(qe.last_quote, '-infinity')
                    THEN snap.quotes::bigint ELSE qe.quotes END AS quotes) qt
 WHERE p.relation = 'own_post' AND p.in_reply_to_id IS NULL;

COMMENT ON VIEW kpi.post_stats IS
  'One row per top-level post of a channel with its engagement so far. Pseudonymous: no handles, no text. '
  'favourites/reblogs/quotes: the latest REST snapshot when it is newer than the newest stored event of that '
  'kind for the post (it reflects un-favourites), else the count of stored events.';
COMMENT ON COLUMN kpi.post_stats.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.post_stats.post_id IS 'Mastodon status id of the top-level post.';
COMMENT ON COLUMN kpi.post_stats.posted_at IS 'When the channel published the post.';
COMMENT ON COLUMN kpi.post_stats.url IS 'Public link to the post.';
COMMENT ON COLUMN kpi.post_stats.format IS 'Format from the post''s hashtags via the format map (pulse.formats, case-insensitive, lowest precedence wins), else ''other''.';
COMMENT ON COLUMN kpi.post_stats.tags IS 'All hashtags of the post (its themes), lower-case, without #.';
COMMENT ON COLUMN kpi.post_stats.replies IS 'Statuses by other accounts anywhere inside the post''s thread (also deep replies that do not mention the channel). Deleted replies are not counted.';
COMMENT ON COLUMN kpi.post_stats.repliers IS 'Distinct accounts among those replies.';
COMMENT ON COLUMN kpi.post_stats.favourites IS 'Favourites (likes) of the post itself, net of un-favourites when a newer snapshot exists.';
COMMENT ON COLUMN kpi.post_stats.reblogs IS 'Reblogs (boosts) of the post itself, net of un-boosts when a newer snapshot exists.';
COMMENT ON COLUMN kpi.post_stats.quotes IS 'Statuses by other accounts quoting the post (or the snapshot count when newer).';
COMMENT ON COLUMN kpi.post_stats.reply_like_ratio IS 'replies / favourites; NULL when there are no favourites.';
COMMENT ON COLUMN kpi.post_stats.first_reply_at IS 'Time of the first reply by another account; NULL without replies.';
COMMENT ON COLUMN kpi.post_stats.city_replies IS 'The channel''s own answers inside the thread (its statuses replying to another account''s status).';
COMMENT ON COLUMN kpi.post_stats.answered_share IS 'Resident replies addressed to the city answered within 72 h / those older than 72 h; NULL when none is older than 72 h.';

