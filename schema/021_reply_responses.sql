-- 021_reply_responses: the city's response times as stored facts instead of a join per reply. Run once.
--
-- Answered share and response times (kpi.summary, kpi.post_stats, kpi.sessions, kpi.response_times,
-- the inbox) were computed per question asked: every resident reply in the range joined to its parent
-- and probed for the city's first later answer. That is linear in the replies (seconds for a month of
-- a busy channel). These tables hold the answer to that join, kept exact by triggers in the writer's
-- transaction (views/26_reply_responses.sql), so the boards read it instead of recomputing it:
--
-- * pulse.reply_responses: one row per resident reply addressed to the city (the rule of the view
--   pulse.addressed_replies, which stays as the definition), with the thread's post and when the
--   city first answered it. Pseudonymous: ids and times only.
-- * pulse.city_answers: one row per status of the channel that answers someone else's (the rule of
--   pulse.own_statuses.answer), with its thread's post.
-- * pulse.rollup_responses: per UTC hour and UTC day x channel x post, how many addressed replies
--   were written (and how many of them the city answered within 72 hours), and how many answers the
--   city wrote -- sums over a quarter read a few thousand rows, not a million. Keyed by post, not
--   format: the format is attached when reading. UTC days, not local ones: any partition of a range
--   into whole buckets will do for these sums, and UTC days never move with the configured timezone.
--
-- Filled from the stored statuses by views/26_reply_responses.sql when the flag below is set (the
-- first migrate after an upgrade).

CREATE TABLE pulse.reply_responses (
  channel      text        NOT NULL,
  reply_id     text        NOT NULL,
  replied_at   timestamptz NOT NULL,
  post_id      text,                  -- the channel's top-level post whose thread it is in; NULL: unknown
  answered_at  timestamptz,           -- the channel's first later status replying to it; NULL: unanswered
  PRIMARY KEY (channel, reply_id)
);
-- ranges of replies (every channel or one; the channel is a filter on the few rows of the edges)
CREATE INDEX reply_responses_time_idx ON pulse.reply_responses (replied_at) INCLUDE (channel, post_id, answered_at);
-- a post's replies (kpi.post_stats, kpi.sessions)
CREATE INDEX reply_responses_post_idx ON pulse.reply_responses (channel, post_id, replied_at) INCLUDE (answered_at);
-- the answered ones, for medians (a few per cent of the replies)
CREATE INDEX reply_responses_answered_idx ON pulse.reply_responses (replied_at) INCLUDE (channel, post_id, answered_at)
  WHERE answered_at IS NOT NULL;
-- the team's inbox (kpi.unanswered): the ones still waiting
CREATE INDEX reply_responses_waiting_idx ON pulse.reply_responses (replied_at) INCLUDE (channel, post_id)
  WHERE answered_at IS NULL;

CREATE TABLE pulse.city_answers (
  channel      text        NOT NULL,
  status_id    text        NOT NULL,
  created_at   timestamptz NOT NULL,
  post_id      text        NOT NULL,  -- its thread's post (itself outside any thread)
  PRIMARY KEY (channel, status_id)
);
CREATE INDEX city_answers_time_idx ON pulse.city_answers (created_at) INCLUDE (channel, post_id);

CREATE TABLE pulse.rollup_responses (
  grain       text        NOT NULL CHECK (grain IN ('1h', '1d')),   -- UTC hour / UTC day
  bucket      timestamptz NOT NULL,
  channel     text        NOT NULL,
  post_id     text        NOT NULL,   -- '' when the thread's post is unknown
  addressed   integer     NOT NULL DEFAULT 0,   -- addressed replies written in the bucket
  in_time     integer     NOT NULL DEFAULT 0,   -- of those, answered within 72 hours of the reply
  answers     integer     NOT NULL DEFAULT 0,   -- the city's answers written in the bucket
  PRIMARY KEY (grain, bucket, channel, post_id) -- bucket before channel: ranges over every channel
);
CREATE INDEX rollup_responses_post_idx ON pulse.rollup_responses (channel, post_id, grain, bucket);

INSERT INTO pulse.config (key, value) VALUES ('reply_responses_rebuild_pending', 'true')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- What the triggers pass on about each changed status: the columns these rows depend on, not the
-- whole row (a reply's text is most of its bytes).
CREATE TYPE pulse.status_link AS (
  channel text, status_id text, created_at timestamptz, relation text, in_reply_to_id text,
  thread_root_id text, mentions_channel boolean
);
