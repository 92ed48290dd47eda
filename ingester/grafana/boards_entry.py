"""The "Instaproute" row of the *Channel overview*: the entry route (the public page, its buttons and the
PRAATMEE keyword) per local day and source, beside the channel's new accounts per day.

Counts only, from `kpi.entry_daily`; accounts are never attributed to sources (that would need
tracking), so the two are shown side by side, not joined. Days are local calendar days: each day's
start in the configured timezone is its time.
"""

from __future__ import annotations

from ingester.grafana.model import Frame, Panel, Query, Row

# Each local day with the instant it starts, in the timezone the counters used (pulse.config). A
# derived table, because Grafana's macros take no parentheses inside their argument.
_ENTRY = "(SELECT x.*, x.day::timestamp AT TIME ZONE pulse.timezone() AS day_start FROM kpi.entry_daily x) e"

_VIEWS_BY_SOURCE = f"""
SELECT e.day_start AS "time", e.source AS metric, sum(e.page_views)::bigint AS page_views
  FROM {_ENTRY}
 WHERE $__timeFilter(e.day_start)
 GROUP BY 1, 2
 ORDER BY 1, 2"""

_CLICKS = f"""
SELECT e.day_start AS "time", sum(e.page_views)::bigint AS visits, sum(e.signup_clicks)::bigint AS signup_clicks,
       sum(e.reply_clicks)::bigint AS reply_clicks, sum(e.keyword_sms)::bigint AS keyword_sms,
       sum(e.keyword_whatsapp)::bigint AS keyword_whatsapp
  FROM {_ENTRY}
 WHERE $__timeFilter(e.day_start)
 GROUP BY 1
 ORDER BY 1"""

_BY_SOURCE = f"""
SELECT e.source, sum(e.page_views)::bigint AS page_views, sum(e.signup_clicks)::bigint AS signup_clicks,
       sum(e.reply_clicks)::bigint AS reply_clicks, sum(e.keyword_sms)::bigint AS keyword_sms,
       sum(e.keyword_whatsapp)::bigint AS keyword_whatsapp
  FROM {_ENTRY}
 WHERE $__timeFilter(e.day_start)
 GROUP BY e.source
 ORDER BY page_views DESC, e.source"""

_NEW_ACCOUNTS = """
SELECT d.bucket AS "time", d.new_accounts
  FROM kpi.accounts_daily($__timeFrom(), $__timeTo(), $channel, NULL) d
 ORDER BY 1"""

_LEGEND = {"legend": {"displayMode": "list", "placement": "bottom"}}


def entry_items() -> tuple[Row | Panel, ...]:
    return (
        Row("Instaproute"),
        Panel(title="Visits per day and source", kind="timeseries", width=12, height=8, stacked=True,
              unit="short", options=_LEGEND,
              description="Views of the public page (/praatmee) per local day, by the ?bron= code of the link "
                          "(one per QR poster; direct = no code, onbekend = unknown code). Counts only: no "
                          "visitor is tracked.",
              query=Query(_VIEWS_BY_SOURCE, Frame.SERIES)),
        Panel(title="New accounts per day", kind="timeseries", width=12, height=8, unit="short", options=_LEGEND,
              description="Accounts interacting with the channel for the first time, per local day. Shown beside "
                          "the entry route, not attributed to it: linking accounts to sources would need tracking.",
              query=Query(_NEW_ACCOUNTS, Frame.SERIES)),
        Panel(title="Clicks and keyword requests per day", kind="timeseries", width=12, height=8, unit="short",
              options=_LEGEND,
              description="Per local day, all sources together: page visits, clicks on 'Account aanmaken', "
                          "residents sent on to reply from their own server, and PRAATMEE requests by SMS and "
                          "WhatsApp.",
              query=Query(_CLICKS, Frame.SERIES)),
        Panel(title="Entry route by source", kind="table", width=12, height=8,
              description="The selected range per source: page views, sign-up clicks, reply clicks and keyword "
                          "requests.",
              query=Query(_BY_SOURCE, Frame.TABLE, ("source", "page_views", "signup_clicks", "reply_clicks",
                                                    "keyword_sms", "keyword_whatsapp"))),
    )
