-- 016_report_deliveries: which weekly reports the service has e-mailed (ingester/report/delivery.py).
--
-- The primary key is the claim that keeps a report from going out twice: the sender inserts its row
-- (ON CONFLICT DO NOTHING) in the same transaction that sends the mail and commits only after the SMTP
-- server accepted it. A second instance's insert waits for that transaction and then finds the row; a
-- crash before the commit leaves no row, so the next start sends it. No addresses are stored.
CREATE TABLE IF NOT EXISTS pulse.report_deliveries (
  scope         text        NOT NULL,  -- the channel, or '*' for all channels together
  period_start  date        NOT NULL,  -- first local day of the report
  period_end    date        NOT NULL,  -- first local day after it
  sent_at       timestamptz NOT NULL DEFAULT now(),
  recipients    integer     NOT NULL,
  message_id    text        NOT NULL,
  PRIMARY KEY (scope, period_start, period_end)
);
