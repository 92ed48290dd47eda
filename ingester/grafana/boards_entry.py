"""The "Instaproute" row of the *Channel overview*: the entry route (the public page, its buttons and the
PRAATMEE keyword) per local day and source, beside the channel's new accounts per day.

Counts only, from `kpi.entry_daily`; accounts are never attributed to sources (that would need
tracking), so the two are shown side by side, not joined. Days are local calendar days: each day's
start in the configured timezone is its time.
"""

from __future__ import annotations

from ingester.grafana.model import Frame, Panel, Query, Row
from ingester.grafana.texts import fields
from ingester.i18n import Catalog, Language

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
_COUNTS = ("page_views", "signup_clicks", "reply_clicks", "keyword_sms", "keyword_whatsapp")

TEXTS = Catalog({
    "nl": {
        "row": "Instaproute",
        "views": "Bezoeken per dag en bron",
        "views.desc": "Bezoeken van de openbare pagina (/praatmee) per lokale dag, naar de ?bron=-code van de link "
                      "(een per QR-poster; direct = zonder code, onbekend = onbekende code). Alleen tellingen: "
                      "geen bezoeker wordt gevolgd.",
        "new_accounts": "Nieuwe accounts per dag",
        "new_accounts.desc": "Accounts die voor het eerst met het kanaal contact hebben, per lokale dag. Naast de "
                             "instaproute getoond, er niet aan toegeschreven: dat zou volgen van mensen vergen.",
        "clicks": "Klikken en trefwoordverzoeken per dag",
        "clicks.desc": "Per lokale dag, alle bronnen samen: paginabezoeken, klikken op 'Account aanmaken', "
                       "bewoners doorgestuurd om vanaf hun eigen server te reageren, en PRAATMEE-verzoeken per "
                       "sms en WhatsApp.",
        "by_source": "Instaproute per bron",
        "by_source.desc": "De gekozen periode per bron: paginabezoeken, klikken op aanmelden en reageren, en "
                          "trefwoordverzoeken.",
    },
    "en": {
        "row": "Entry route",
        "views": "Visits per day and source",
        "views.desc": "Views of the public page (/praatmee) per local day, by the ?bron= code of the link "
                      "(one per QR poster; direct = no code, onbekend = unknown code). Counts only: no "
                      "visitor is tracked.",
        "new_accounts": "New accounts per day",
        "new_accounts.desc": "Accounts interacting with the channel for the first time, per local day. Shown beside "
                             "the entry route, not attributed to it: linking accounts to sources would need tracking.",
        "clicks": "Clicks and keyword requests per day",
        "clicks.desc": "Per local day, all sources together: page visits, clicks on 'Account aanmaken', "
                       "residents sent on to reply from their own server, and PRAATMEE requests by SMS and "
                       "WhatsApp.",
        "by_source": "Entry route by source",
        "by_source.desc": "The selected range per source: page views, sign-up clicks, reply clicks and keyword "
                          "requests.",
    },
})


def entry_items(lang: Language) -> tuple[Row | Panel, ...]:
    def t(key: str) -> str:
        return TEXTS.text(lang, key)

    return (
        Row(t("row")),
        Panel(key="entry_views", title=t("views"), kind="timeseries", width=12, height=8, stacked=True,
              unit="locale", decimals=0, options=_LEGEND, description=t("views.desc"),
              fields=fields(lang, "page_views"), query=Query(_VIEWS_BY_SOURCE, Frame.SERIES)),
        Panel(key="entry_new_accounts", title=t("new_accounts"), kind="timeseries", width=12, height=8,
              unit="locale", decimals=0, options=_LEGEND, description=t("new_accounts.desc"),
              fields=fields(lang, "new_accounts"), query=Query(_NEW_ACCOUNTS, Frame.SERIES)),
        Panel(key="entry_clicks", title=t("clicks"), kind="timeseries", width=12, height=8, unit="locale",
              decimals=0, options=_LEGEND, description=t("clicks.desc"),
              fields=fields(lang, "visits", *_COUNTS[1:]), query=Query(_CLICKS, Frame.SERIES)),
        Panel(key="entry_by_source", title=t("by_source"), kind="table", width=12, height=8,
              description=t("by_source.desc"), fields=fields(lang, "source", *_COUNTS),
              query=Query(_BY_SOURCE, Frame.TABLE, ("source", *_COUNTS))),
    )
