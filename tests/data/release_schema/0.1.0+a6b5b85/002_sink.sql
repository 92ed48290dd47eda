-- 002_sink: what the batched sink (ingester/sink.py) needs beyond 001.
--
-- Dead letters have no Mastodon id, yet a batch may be written twice (a retry after a commit whose
-- acknowledgement was lost). The same raw input received at the same instant on the same source is
-- the same dead letter: make that the idempotency key. md5() keeps the index small for big payloads.
CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_once_idx
    ON pulse.dead_letters (channel, received_at, source, md5(payload));
