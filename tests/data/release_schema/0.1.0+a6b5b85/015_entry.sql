-- 015_entry: counters of the entry route (the public page GET /praatmee, its buttons, the PRAATMEE
-- keyword). Run once.
--
-- Counts only, per local calendar day, source and kind: the web service adds to them from memory
-- every few seconds (ingester/web/counters.py). No IP address, user agent, cookie, fingerprint or
-- time finer than the day exists here -- by construction there is nowhere to put one.
CREATE TABLE pulse.entry_counts (
  day     date   NOT NULL,                  -- local calendar day (pulse.config 'timezone')
  source  text   NOT NULL CHECK (source ~ '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$'),
  kind    text   NOT NULL CHECK (kind IN ('page_view', 'signup_click', 'reply_click',
                                           'keyword_sms', 'keyword_whatsapp')),
  count   bigint NOT NULL CHECK (count >= 0),
  PRIMARY KEY (day, source, kind)
);
