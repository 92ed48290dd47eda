-- 31_post_stats: kpi.post_stats, one row per top-level post of a channel. Re-runnable.
--
-- Counts of favourites, reblogs and quotes follow one rule (per post, per kind): the latest REST
-- snapshot (pulse.post_snapshots) when it is newer than the newest such event we stored for the
-- post, because only a snapshot reflects un-favourites and un-boosts; otherwise the count of the
-- stored events (a snapshot older than the newest event would miss that event).
CREATE OR REPLACE VIEW kpi.post_stats AS
SELECT p.channel,
       p.status_id                                                    AS post_id,
       p.created_at                                                   AS posted_at,
       p.url,
       pulse.post_format(p.tags)                                      AS format,
       p.tags,
       coalesce(th.replies, 0)                                        AS replies,
       coalesce(th.repliers, 0)                                       AS repliers,
       fv.favourites,
       rb.reblogs,
       qt.quotes,
       coalesce(th.replies, 0)::numeric / nullif(fv.favourites, 0)    AS reply_like_ratio,
       th.first_reply_at,
       coalesce(ca.city_replies, 0)                                   AS city_replies,
       ans.in_time::numeric / nullif(ans.due, 0)                      AS answered_share
  FROM pulse.statuses p
  -- replies: statuses by other accounts anywhere inside the thread
  LEFT JOIN LATERAL (
        SELECT count(*) AS replies, count(DISTINCT r.account_key) AS repliers,
               min(r.created_at) AS first_reply_at
          FROM pulse.statuses r
         WHERE r.channel = p.channel AND r.thread_root_id = p.status_id
           AND r.relation <> 'own_post') th ON true
  -- the channel's answers inside its thread
  LEFT JOIN LATERAL (
        SELECT count(*) AS city_replies
          FROM pulse.statuses a
         WHERE a.channel = p.channel AND a.thread_root_id = p.status_id
           AND a.relation = 'own_post' AND a.in_reply_to_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM pulse.statuses q
                            WHERE q.channel = a.channel AND q.status_id = a.in_reply_to_id
                              AND q.relation = 'own_post')) ca ON true
  -- answered within 72 h / resident replies addressed to the city that are older than 72 h
  LEFT JOIN LATERAL (
        -- same rule as pulse.addressed_replies, written against the thread index
        SELECT count(*) AS due,
               count(*) FILTER (WHERE ansd.answered_at <= r.created_at + interval '72 hours') AS in_time
          FROM pulse.statuses r
          LEFT JOIN LATERAL (
                SELECT min(x.created_at) AS answered_at
                  FROM pulse.statuses x
                 WHERE x.channel = r.channel AND x.in_reply_to_id = r.status_id
                   AND x.relation = 'own_post' AND x.created_at > r.created_at) ansd ON true
         WHERE r.channel = p.channel AND r.thread_root_id = p.status_id
           AND r.relation <> 'own_post' AND r.in_reply_to_id IS NOT NULL
           AND r.created_at < now() - interval '72 hours'
           AND (r.relation = 'reply' OR r.mentions_channel
                OR EXISTS (SELECT 1 FROM pulse.statuses q
                            WHERE q.channel = r.channel AND q.status_id = r.in_reply_to_id
                              AND q.relation = 'own_post'))) ans ON true
  LEFT JOIN LATERAL (
        SELECT s.observed_at, s.favourites, s.reblogs, s.quotes
          FROM pulse.post_snapshots s
         WHERE s.channel = p.channel AND s.post_id = p.status_id
         ORDER BY s.observed_at DESC
         LIMIT 1) snap ON true
  LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE i.kind = 'favourite')            AS favourites,
               max(i.occurred_at) FILTER (WHERE i.kind = 'favourite')  AS last_favourite,
               count(*) FILTER (WHERE i.kind = 'reblog')               AS reblogs,
               max(i.occurred_at) FILTER (WHERE i.kind = 'reblog')     AS last_reblog
          FROM pulse.interactions i
         WHERE i.channel = p.channel AND i.status_id = p.status_id) ev ON true
  LEFT JOIN LATERAL (
        SELECT count(*) AS quotes, max(q.created_at) AS last_quote
          FROM pulse.statuses q
         WHERE q.channel = p.channel AND q.quoted_id = p.status_id
           AND q.relation <> 'own_post') qe ON true
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(ev.last_favourite, '-infinity')
                    THEN snap.favourites::bigint ELSE ev.favourites END AS favourites) fv
  CROSS JOIN LATERAL (
        SELECT CASE WHEN snap.observed_at > coalesce(ev.last_reblog, '-infinity')
                    THEN snap.reblogs::bigint ELSE ev.reblogs END AS reblogs) rb
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

