-- 012_answer_index: find the channel's answers to a status without walking every reply. Run once.
--
-- "Answered" (pulse.addressed_replies, kpi.post_stats, kpi.summary) looks up, per resident reply,
-- the channel's first later status replying to it. statuses_reply_to_idx holds every reply of every
-- account (millions); the channel's own answers are a few per cent of that, so this partial index
-- stays small enough to live in memory and each lookup is a short probe.
CREATE INDEX statuses_answers_idx ON pulse.statuses (channel, in_reply_to_id, created_at)
 WHERE relation = 'own_post' AND in_reply_to_id IS NOT NULL;
