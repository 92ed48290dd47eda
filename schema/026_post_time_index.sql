-- 026_post_time_index: the channel's top-level posts by time. Run once.
--
-- "The posts published in [from, to)" (kpi.summary's cohort, the boards' post lists) found them
-- through statuses_own_idx, which holds every status of the channel -- its answers too, a hundred
-- times as many as its posts at a busy channel -- and then read each one to check the time.
CREATE INDEX statuses_posts_time_idx ON pulse.statuses (created_at) INCLUDE (channel, status_id)
  WHERE relation = 'own_post' AND in_reply_to_id IS NULL;
