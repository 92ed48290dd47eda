-- 22_threads: private building blocks of the kpi views (schema pulse: not for analysts). Re-runnable.
--
-- The sink sets statuses.thread_root_id on every status inside one of the channel's threads (the
-- channel's top-level post it hangs under), also for deep replies that never mention the channel and
-- for the channel's own answers. Everything below starts from that.

-- The format of each top-level post of a channel, from its tags and pulse.formats (same rule as
-- pulse.post_format, written as a join so that views pay for it once per post, not once per row).
CREATE OR REPLACE VIEW pulse.post_formats AS
SELECT p.channel, p.status_id, coalesce(fm.format, 'other') AS format
  FROM pulse.statuses p
  LEFT JOIN LATERAL (
        SELECT f.format
          FROM unnest(p.tags) AS t(tag)
          JOIN pulse.formats f ON f.tag = lower(ltrim(t.tag, '#'))
         ORDER BY f.precedence
         LIMIT 1) fm ON true
 WHERE p.relation = 'own_post' AND p.in_reply_to_id IS NULL;

-- The channel's own statuses with the thread root they belong to and the format of that root: a
-- reply inherits the format of its thread's root post (NULL when the root is unknown, e.g. an answer
-- to a mention outside any thread).
CREATE OR REPLACE VIEW pulse.own_statuses AS
SELECT s.channel,
       s.status_id,
       s.created_at,
       s.in_reply_to_id,
       coalesce(s.thread_root_id, s.status_id)                       AS root_id,
       s.in_reply_to_id IS NULL                                      AS top_level,
       -- an answer replies to someone else's status (not a self-thread continuation)
       (s.in_reply_to_id IS NOT NULL AND par.status_id IS NULL)      AS answer,
       pf.format
  FROM pulse.statuses s
  LEFT JOIN pulse.statuses par
         ON par.channel = s.channel AND par.status_id = s.in_reply_to_id AND par.relation = 'own_post'
  LEFT JOIN pulse.post_formats pf
         ON pf.channel = s.channel AND pf.status_id = coalesce(s.thread_root_id, s.status_id)
 WHERE s.relation = 'own_post';

-- What an engagement status is (its kind) and which channel status it is about (its post_ref): one
-- definition for this view, the rollup triggers and the rollups' edge reads (23-24). Simple SQL
-- expressions, so the planner inlines them and the view's indexes still apply.
CREATE OR REPLACE FUNCTION pulse.engagement_kind(relation text, thread_root_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN thread_root_id IS NOT NULL OR relation = 'reply' THEN 'reply'
              WHEN relation = 'quote' THEN 'quote' ELSE 'mention' END
$$;

CREATE OR REPLACE FUNCTION pulse.engagement_ref(relation text, thread_root_id text, in_reply_to_id text,
                                                quoted_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN thread_root_id IS NOT NULL THEN thread_root_id
              WHEN relation = 'reply' THEN in_reply_to_id
              WHEN relation = 'quote' THEN quoted_id END
$$;

-- One row per engagement by another account, with the channel status it is about (post_ref: the
-- thread root for replies inside a thread). Same classification as the contract view
-- kpi.engagements; post_ref maps to a format through pulse.own_statuses.
CREATE OR REPLACE VIEW pulse.engagement_rows AS
SELECT s.channel,
       s.created_at                                                   AS occurred_at,
       pulse.engagement_kind(s.relation, s.thread_root_id)            AS kind,
       s.account_key,
       pulse.engagement_ref(s.relation, s.thread_root_id, s.in_reply_to_id, s.quoted_id) AS post_ref
  FROM pulse.statuses s
 WHERE s.relation <> 'own_post'
   AND (s.thread_root_id IS NOT NULL OR s.relation IN ('reply', 'quote', 'mention'))
UNION ALL
SELECT i.channel, i.occurred_at, i.kind, i.account_key, i.status_id
  FROM pulse.interactions i;

-- Resident replies addressed to the city: a reply to one of the channel's statuses, or a reply
-- inside its thread that mentions it; answered_at is the first later status of the channel that
-- replies to it.
CREATE OR REPLACE VIEW pulse.addressed_replies AS
SELECT r.channel,
       coalesce(r.thread_root_id, o.root_id)                          AS post_id,
       r.status_id                                                    AS reply_id,
       r.created_at                                                   AS replied_at,
       a.answered_at,
       r.account_key
  FROM pulse.statuses r
  LEFT JOIN pulse.own_statuses o ON o.channel = r.channel AND o.status_id = r.in_reply_to_id
  LEFT JOIN LATERAL (
        SELECT min(x.created_at) AS answered_at
          FROM pulse.statuses x
         WHERE x.channel = r.channel AND x.in_reply_to_id = r.status_id
           AND x.relation = 'own_post' AND x.created_at > r.created_at) a ON true
 WHERE r.relation <> 'own_post'
   AND r.in_reply_to_id IS NOT NULL
   AND (r.relation = 'reply' OR o.status_id IS NOT NULL
        OR (r.thread_root_id IS NOT NULL AND r.mentions_channel));
