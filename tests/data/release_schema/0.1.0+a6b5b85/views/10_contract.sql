-- 10_contract: the public contract (schema kpi) that data staff, the KPI layer and Grafana build on.
-- Re-runnable. Pseudonymous: no handles, no text.

CREATE OR REPLACE VIEW kpi.engagements AS
SELECT s.channel,
       s.created_at AS occurred_at,
       CASE WHEN s.thread_root_id IS NOT NULL OR s.relation = 'reply' THEN 'reply'
            WHEN s.relation = 'quote' THEN 'quote'
            ELSE 'mention' END                                    AS kind,
       CASE WHEN s.relation = 'reply' THEN s.in_reply_to_id
            WHEN s.thread_root_id IS NOT NULL THEN s.thread_root_id
            WHEN s.relation = 'quote' THEN s.quoted_id END         AS post_id,
       s.thread_root_id,
       s.account_key,
       s.status_id                                                 AS source_id
  FROM pulse.statuses s
 WHERE s.relation <> 'own_post'
   AND (s.thread_root_id IS NOT NULL OR s.relation IN ('reply', 'quote', 'mention'))
UNION ALL
SELECT i.channel,
       i.occurred_at,
       i.kind,
       i.status_id                                                 AS post_id,
       t.thread_root_id,
       i.account_key,
       i.notification_id                                           AS source_id
  FROM pulse.interactions i
  LEFT JOIN LATERAL (
        SELECT s.thread_root_id FROM pulse.statuses s
         WHERE s.channel = i.channel AND s.status_id = i.status_id
         LIMIT 1) t ON i.status_id IS NOT NULL;

COMMENT ON VIEW kpi.engagements IS
  'One row per interaction by another account with a channel: reply (anywhere inside one of the channel''s threads), '
  'mention (outside its threads), quote, favourite, reblog (boost) or follow. Deleted statuses are gone from here. '
  'Pseudonymous: account_key is HMAC-SHA256 of the account URI; no handles, no text.';
COMMENT ON COLUMN kpi.engagements.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.engagements.occurred_at IS 'When it happened (status created_at, or notification created_at).';
COMMENT ON COLUMN kpi.engagements.kind IS 'reply | mention | favourite | reblog | quote | follow.';
COMMENT ON COLUMN kpi.engagements.post_id IS 'The channel''s status interacted with (for a reply deep in a thread: the thread''s root post); NULL for follow and for mentions outside threads.';
COMMENT ON COLUMN kpi.engagements.thread_root_id IS 'The channel''s top-level post whose thread this belongs to, when known.';
COMMENT ON COLUMN kpi.engagements.account_key IS 'Pseudonymous key of the account: hex HMAC-SHA256(account URI, PULSE_ACCOUNT_SALT).';
COMMENT ON COLUMN kpi.engagements.source_id IS 'Mastodon id it came from: the status id for reply/mention/quote, the notification id otherwise. Unique per channel and kind.';

CREATE OR REPLACE VIEW kpi.posts AS
SELECT s.channel,
       s.status_id     AS post_id,
       s.created_at    AS posted_at,
       s.url,
       s.tags,
       s.in_reply_to_id
  FROM pulse.statuses s
 WHERE s.relation = 'own_post';

COMMENT ON VIEW kpi.posts IS 'The channel''s own statuses: top-level posts (in_reply_to_id NULL) and its answers in threads.';
COMMENT ON COLUMN kpi.posts.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.posts.post_id IS 'Mastodon status id.';
COMMENT ON COLUMN kpi.posts.posted_at IS 'When the channel published it.';
COMMENT ON COLUMN kpi.posts.url IS 'Public link to the status.';
COMMENT ON COLUMN kpi.posts.tags IS 'Hashtags of the status, lower-case, without #.';
COMMENT ON COLUMN kpi.posts.in_reply_to_id IS 'NULL for a top-level post; the status it answers otherwise.';
