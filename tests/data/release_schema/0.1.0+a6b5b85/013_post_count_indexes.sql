-- 013_post_count_indexes: count a post's replies and likes from the index alone. Run once.
--
-- kpi.post_stats (and kpi.summary's posts of the range) count, per post, the replies in its thread
-- and its favourites/reblogs with the newest of each. The indexes of 001 find those rows but every
-- count then reads each row from the table (a popular post: thousands of scattered reads). These
-- replace them with the same leading columns plus what the counts need, so a vacuumed table
-- (autovacuum does it for insert-mostly tables) answers with index-only scans. Same number of
-- indexes as before: every query that used the old ones can use these.
CREATE INDEX statuses_thread_cover_idx ON pulse.statuses (channel, thread_root_id, created_at)
       INCLUDE (relation, account_key) WHERE thread_root_id IS NOT NULL;
DROP INDEX pulse.statuses_thread_idx;

CREATE INDEX interactions_status_cover_idx ON pulse.interactions (channel, status_id, kind, occurred_at)
 WHERE status_id IS NOT NULL;
DROP INDEX pulse.interactions_status_idx;
