-- 34_responses: kpi.response_times (pseudonymous), kpi.unanswered and kpi.replies_live (with handles
-- and text: pulse_reader only, see 40_grants.sql). Re-runnable.
--
-- All three read pulse.reply_responses (021, kept by 26_reply_responses.sql): the addressed replies
-- with their first answer, stored, instead of pulse.addressed_replies' probe per reply.

CREATE OR REPLACE VIEW kpi.response_times AS
SELECT ar.channel, ar.post_id, ar.reply_id, ar.replied_at, ar.answered_at,
       extract(epoch FROM ar.answered_at - ar.replied_at)::double precision AS response_seconds
  FROM pulse.reply_responses ar;

COMMENT ON VIEW kpi.response_times IS
  'One row per resident reply addressed to the city (a reply to one of the channel''s statuses, or a reply inside '
  'its thread that mentions it), with how fast the channel answered it. Pseudonymous: no handles, no text.';
COMMENT ON COLUMN kpi.response_times.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.response_times.post_id IS 'The channel''s top-level post whose thread the reply is in.';
COMMENT ON COLUMN kpi.response_times.reply_id IS 'Mastodon status id of the resident''s reply.';
COMMENT ON COLUMN kpi.response_times.replied_at IS 'When the resident replied.';
COMMENT ON COLUMN kpi.response_times.answered_at IS 'When the channel first answered it (its first later status replying to it); NULL while unanswered.';
COMMENT ON COLUMN kpi.response_times.response_seconds IS 'answered_at - replied_at in seconds; NULL while unanswered.';

CREATE OR REPLACE VIEW kpi.unanswered AS
SELECT ar.channel, ar.post_id, ar.reply_id, ar.replied_at,
       extract(epoch FROM now() - ar.replied_at)::double precision AS waiting_seconds,
       acc.acct                                                    AS account,
       s.content,
       s.url
  FROM pulse.reply_responses ar
  JOIN pulse.statuses s ON s.channel = ar.channel AND s.status_id = ar.reply_id
                       AND s.created_at = ar.replied_at
  LEFT JOIN pulse.accounts acc ON acc.account_key = s.account_key
 WHERE ar.answered_at IS NULL
 ORDER BY ar.replied_at, ar.reply_id;

COMMENT ON VIEW kpi.unanswered IS
  'The team''s inbox: resident replies addressed to the city with no answer yet, oldest first, with the handle, '
  'the text and a link. Contains personal data: granted to pulse_reader, never to pulse_analyst.';
COMMENT ON COLUMN kpi.unanswered.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.unanswered.post_id IS 'The channel''s top-level post whose thread the reply is in.';
COMMENT ON COLUMN kpi.unanswered.reply_id IS 'Mastodon status id of the resident''s reply.';
COMMENT ON COLUMN kpi.unanswered.replied_at IS 'When the resident replied.';
COMMENT ON COLUMN kpi.unanswered.waiting_seconds IS 'Seconds since the reply, at query time.';
COMMENT ON COLUMN kpi.unanswered.account IS 'Handle of the resident (user@server); NULL once purged.';
COMMENT ON COLUMN kpi.unanswered.content IS 'Text (HTML) of the reply; NULL once purged.';
COMMENT ON COLUMN kpi.unanswered.url IS 'Public link to the reply.';

CREATE OR REPLACE VIEW kpi.replies_live AS
SELECT s.channel,
       coalesce(s.thread_root_id, o.root_id)                         AS post_id,
       s.status_id                                                   AS reply_id,
       s.created_at                                                  AS replied_at,
       acc.acct                                                      AS account,
       s.content,
       s.url,
       ar.reply_id IS NOT NULL                                       AS addressed,
       ar.answered_at
  FROM pulse.statuses s
  LEFT JOIN pulse.own_statuses o ON o.channel = s.channel AND o.status_id = s.in_reply_to_id
  LEFT JOIN pulse.accounts acc ON acc.account_key = s.account_key
  LEFT JOIN pulse.reply_responses ar ON ar.channel = s.channel AND ar.reply_id = s.status_id
 WHERE s.relation <> 'own_post'
   AND (s.thread_root_id IS NOT NULL OR s.relation = 'reply')
 ORDER BY s.created_at DESC, s.status_id DESC;

COMMENT ON VIEW kpi.replies_live IS
  'The live board: every reply by another account inside the channel''s threads, newest first, with handle, text '
  'and link. Contains personal data: granted to pulse_reader, never to pulse_analyst.';
COMMENT ON COLUMN kpi.replies_live.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.replies_live.post_id IS 'The channel''s top-level post whose thread the reply is in.';
COMMENT ON COLUMN kpi.replies_live.reply_id IS 'Mastodon status id of the reply.';
COMMENT ON COLUMN kpi.replies_live.replied_at IS 'When it was written.';
COMMENT ON COLUMN kpi.replies_live.account IS 'Handle of the author (user@server); NULL once purged.';
COMMENT ON COLUMN kpi.replies_live.content IS 'Text (HTML); NULL once purged.';
COMMENT ON COLUMN kpi.replies_live.url IS 'Public link to the reply.';
COMMENT ON COLUMN kpi.replies_live.addressed IS 'True when the reply is addressed to the city (replies to a channel status, or mentions it).';
COMMENT ON COLUMN kpi.replies_live.answered_at IS 'When the channel first answered it; NULL while unanswered or not addressed.';
