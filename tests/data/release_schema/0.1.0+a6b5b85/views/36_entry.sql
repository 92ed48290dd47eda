-- 36_entry: kpi.entry_daily, the entry-route funnel per local day and source. Re-runnable.
-- Grants: 40_grants.sql (pulse_reader and pulse_analyst: counts only, nothing about anyone).
CREATE OR REPLACE VIEW kpi.entry_daily AS
SELECT c.day,
       c.source,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'page_view'), 0)::bigint        AS page_views,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'signup_click'), 0)::bigint     AS signup_clicks,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'reply_click'), 0)::bigint      AS reply_clicks,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'keyword_sms'), 0)::bigint      AS keyword_sms,
       coalesce(sum(c.count) FILTER (WHERE c.kind = 'keyword_whatsapp'), 0)::bigint AS keyword_whatsapp
  FROM pulse.entry_counts c
 GROUP BY c.day, c.source;

COMMENT ON VIEW kpi.entry_daily IS
  'The entry route (the public page /praatmee, its buttons and the PRAATMEE keyword) per local calendar day '
  '(timezone from pulse.config) and source: counts only, no tracking. A row exists for a day and source with '
  'at least one count. New accounts are not attributed to sources (that would need tracking).';
COMMENT ON COLUMN kpi.entry_daily.day IS 'Local calendar day in the configured timezone.';
COMMENT ON COLUMN kpi.entry_daily.source IS
  'The ?bron= code of the link used (one per QR poster), sms or whatsapp for the keyword, direct without a code, '
  'onbekend for an unknown or malformed code.';
COMMENT ON COLUMN kpi.entry_daily.page_views IS 'Views of the public page.';
COMMENT ON COLUMN kpi.entry_daily.signup_clicks IS 'Clicks on "Account aanmaken" (sent on to the sign-up page).';
COMMENT ON COLUMN kpi.entry_daily.reply_clicks IS
  'Residents sent on to reply from their own Mastodon account ("Reageer direct", form submitted and resolved).';
COMMENT ON COLUMN kpi.entry_daily.keyword_sms IS 'PRAATMEE keyword requests by SMS.';
COMMENT ON COLUMN kpi.entry_daily.keyword_whatsapp IS 'PRAATMEE keyword requests by WhatsApp.';
