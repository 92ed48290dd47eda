-- 022_thread_participants: per-post thread figures the boards read instead of scanning the thread. Run once.
--
-- kpi.post_stats and kpi.sessions report, per top-level post, who replied in its thread and when:
-- repliers (distinct accounts), the first and last reply, and how many of the repliers were new to
-- the channel. Counting them from the thread's statuses costs time proportional to the thread
-- (thousands of rows for a popular post, per post shown); these tables hold the answer per post,
-- kept exact by triggers in the writer's transaction (views/27_thread_participants.sql).
--
-- * pulse.thread_participants: per channel x account x thread (post_id = the statuses'
--   thread_root_id), how many statuses of other accounts the account has in the thread. An account
--   is a replier while its count is above zero (a row that drops to zero stays, until a rebuild).
--   Keyed by account first: when an account's first engagement with the channel moves, the threads
--   it replied in are found through the key.
-- * pulse.thread_stats: per channel x post, the repliers (participants with a count above zero), the
--   first and last reply, the post's publication time (posted_at, NULL while the post itself is not
--   stored) and how many repliers were first seen by the channel at or after it (new_participants,
--   pulse.account_first_seen). The row of a post that is gone and has no replier left stays, until a
--   rebuild.
--
-- Filled from the stored events by views/27_thread_participants.sql when the flag below is set (the
-- first migrate after the upgrade), with progress shown to the operator.

CREATE TABLE pulse.thread_participants (
  channel      text    NOT NULL,
  account_key  text    NOT NULL,
  post_id      text    NOT NULL,
  replies      integer NOT NULL,
  PRIMARY KEY (channel, account_key, post_id)
) WITH (fillfactor = 90);   -- room for in-place (HOT) updates of the count

CREATE TABLE pulse.thread_stats (
  channel           text        NOT NULL,
  post_id           text        NOT NULL,
  posted_at         timestamptz,
  repliers          integer     NOT NULL DEFAULT 0,
  new_participants  integer     NOT NULL DEFAULT 0,
  first_reply_at    timestamptz,
  last_reply_at     timestamptz,
  PRIMARY KEY (channel, post_id)
) WITH (fillfactor = 50);   -- one row per post, rewritten by nearly every reply: keep updates in place
-- an account's first engagement moved: the posts published in between change its new/returning
CREATE INDEX thread_stats_posted_idx ON pulse.thread_stats (channel, posted_at);

-- The channel's own statuses in each thread (kpi.post_stats.city_replies: its answers there). A few
-- per cent of a thread, so counting them no longer reads the residents' replies.
CREATE INDEX statuses_thread_own_idx ON pulse.statuses (channel, thread_root_id)
       INCLUDE (status_id, in_reply_to_id) WHERE relation = 'own_post' AND thread_root_id IS NOT NULL;

-- (The channel's top-level posts by publication time, which kpi.post_stats over a range needs, are
-- indexed by 026_post_time_index.sql.)

INSERT INTO pulse.config (key, value) VALUES ('thread_stats_rebuild_pending', 'true')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
