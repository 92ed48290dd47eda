-- 023_rollup_write_path: cheaper upkeep of the rollups of 020 on the write path. Run once.
--
-- * pulse.rollup_counts: every batch updates the rows of the current hour and day of each post it
--   engages with. Room left on each page lets those updates stay on their page (HOT: no new index
--   entries, the old version pruned in place) instead of adding index entries and dead rows for
--   vacuum; with full pages two thirds of them were not.
-- * Every batch looks up the number and the first engagement of each account in it (views/23,
--   pulse.rollup_apply_pending): a hash index answers such an equality probe on a 64-character key
--   without a B-tree descent through text comparisons, for about 40% less CPU per probe (measured).
--   The primary keys stay: they arbitrate the upserts and serve ordered scans.
ALTER TABLE pulse.rollup_counts SET (fillfactor = 50);
CREATE INDEX account_numbers_key_hash ON pulse.account_numbers USING hash (account_key);
CREATE INDEX account_first_seen_key_hash ON pulse.account_first_seen USING hash (account_key);
