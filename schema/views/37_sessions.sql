-- 37_sessions: kpi.sessions, one row per top-level post of a channel seen as a live *session* (the
-- post and its thread), with the numbers the team asks for during a Q&A. Re-runnable.
--
-- Built on the contract views (kpi.post_stats, kpi.response_times) plus the per-post thread figures
-- (pulse.thread_stats, 022) and the first-seen table (011_first_seen.sql), so every figure equals the
-- contract's for the same post:
--   replies, participants (= post_stats.repliers), reply_like_ratio: kpi.post_stats;
--   addressed, answered, unanswered, median/longest response: kpi.response_times of the post.
-- New vs returning participants: a participant (an account that replied in the thread) is *new*
-- when its first engagement with the channel (pulse.account_first_seen) is at or after the moment
-- the post was published -- it first showed up in this session -- and *returning* when it had
-- engaged with the channel before. new + returning = participants always. The triggers of
-- 27_thread_participants.sql keep that count per post (thread_stats.new_participants, judged
-- against thread_stats.posted_at); should the post's publication time differ from the one it was
-- judged against (only when two stored rows share the post's id), it is counted from the thread.
-- Every column is a pure function of the stored rows (no now()), so both tiers give the same rows.
-- The response-time part is an aggregate without GROUP BY: always one row, counts 0 for an empty thread.
CREATE OR REPLACE VIEW kpi.sessions AS
SELECT ps.channel,
       ps.post_id,
       ps.posted_at,
       ps.format,
       ps.url,
       ps.replies,
       ps.repliers                                                   AS participants,
       np.new_participants,
       ps.repliers - np.new_participants                             AS returning_participants,
       ps.favourites,
       ps.reply_like_ratio,
       ps.first_reply_at,
       ts.last_reply_at,
       rt.addressed,
       rt.answered,
       rt.addressed - rt.answered                                    AS unanswered,
       rt.median_response_seconds,
       rt.longest_response_seconds
  FROM kpi.post_stats ps
  LEFT JOIN pulse.thread_stats ts ON ts.channel = ps.channel AND ts.post_id = ps.post_id
  CROSS JOIN LATERAL (
        SELECT CASE WHEN ts.posted_at = ps.posted_at THEN ts.new_participants::bigint
                    -- the thread's repliers (the set post_stats.repliers counts), each with when it
                    -- was first seen by the channel; an account without a first-seen row counts as new
                    ELSE (SELECT count(*) FILTER (WHERE coalesce(f.first_seen_at, ps.posted_at) >= ps.posted_at)
                            FROM (SELECT DISTINCT r.account_key
                                    FROM pulse.statuses r
                                   WHERE r.channel = ps.channel AND r.thread_root_id = ps.post_id
                                     AND r.relation <> 'own_post') a
                            LEFT JOIN pulse.account_first_seen f
                                   ON f.channel = ps.channel AND f.account_key = a.account_key)
               END AS new_participants) np
  LEFT JOIN LATERAL (
        SELECT count(*) AS addressed,
               count(r.answered_at) AS answered,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY r.response_seconds) AS median_response_seconds,
               max(r.response_seconds) AS longest_response_seconds
          FROM kpi.response_times r
         WHERE r.channel = ps.channel AND r.post_id = ps.post_id
           -- no reply predates its thread's post (an hour's margin for other servers' clocks); the
           -- bound lets the scan start at the post instead of at the channel's first reply
           AND r.replied_at >= ps.posted_at - interval '1 hour') rt ON true;

COMMENT ON VIEW kpi.sessions IS
  'One row per top-level post of a channel seen as a live session (the post and its thread): replies, participants '
  '(new and returning), reply/like ratio and the city''s response times. Figures equal kpi.post_stats and '
  'kpi.response_times for the same post. Pseudonymous: no handles, no text.';
COMMENT ON COLUMN kpi.sessions.channel IS 'Configured name of the city account (channel).';
COMMENT ON COLUMN kpi.sessions.post_id IS 'Mastodon status id of the post that opened the session.';
COMMENT ON COLUMN kpi.sessions.posted_at IS 'When the channel published it: the start of the session.';
COMMENT ON COLUMN kpi.sessions.format IS 'Format of the post (as kpi.post_stats.format); ''qa'' for a Q&A session.';
COMMENT ON COLUMN kpi.sessions.url IS 'Public link to the post.';
COMMENT ON COLUMN kpi.sessions.replies IS 'Statuses by other accounts anywhere in the thread (kpi.post_stats.replies).';
COMMENT ON COLUMN kpi.sessions.participants IS 'Distinct accounts that replied in the thread (kpi.post_stats.repliers).';
COMMENT ON COLUMN kpi.sessions.new_participants IS 'Participants whose first engagement with the channel is at or after the post: they first showed up in this session.';
COMMENT ON COLUMN kpi.sessions.returning_participants IS 'Participants that had engaged with the channel before the post (participants - new_participants).';
COMMENT ON COLUMN kpi.sessions.favourites IS 'Favourites of the post (kpi.post_stats.favourites).';
COMMENT ON COLUMN kpi.sessions.reply_like_ratio IS 'replies / favourites (kpi.post_stats.reply_like_ratio); NULL without favourites.';
COMMENT ON COLUMN kpi.sessions.first_reply_at IS 'Time of the first reply in the thread; NULL without replies.';
COMMENT ON COLUMN kpi.sessions.last_reply_at IS 'Time of the newest reply in the thread; NULL without replies.';
COMMENT ON COLUMN kpi.sessions.addressed IS 'Replies in the thread addressed to the city (rows of kpi.response_times for the post).';
COMMENT ON COLUMN kpi.sessions.answered IS 'Of those, the ones the city has answered.';
COMMENT ON COLUMN kpi.sessions.unanswered IS 'Of those, the ones still waiting for an answer (addressed - answered).';
COMMENT ON COLUMN kpi.sessions.median_response_seconds IS 'Median kpi.response_times.response_seconds of the answered ones; NULL when none is answered.';
COMMENT ON COLUMN kpi.sessions.longest_response_seconds IS 'Longest kpi.response_times.response_seconds of the answered ones; NULL when none is answered.';

-- pulse_reader and pulse_analyst (pseudonymous): granted in 40_grants.sql, which runs after this file.
