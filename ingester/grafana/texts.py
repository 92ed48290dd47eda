"""Texts every board shares: column headers and legend names, variable labels, link titles.

SQL column names are stable identifiers (the same in every language, and what data staff and the
tests read); what a person sees is a `displayName` override per column (`model.Field`), taken from
`COLUMNS` here. Units and decimals belong to the column too, so a ratio shows two decimals and a
duration reads as hh:mm:ss on every board.

Units are Grafana's own ids: `locale` formats with the viewer's browser locale (`1.234`, `0,42` in a
Dutch browser), `dthms` shows a duration as `01:05:03` (no words, so it reads the same in nl and en),
`percentunit` a fraction as a percentage.
"""

from __future__ import annotations

from ingester.grafana.model import Field, Link
from ingester.i18n import Catalog, Language

COUNT = ("locale", 0)
RATIO = ("locale", 2)
DURATION = ("dthms", None)
SHARE = ("percentunit", 0)

# Column -> (unit, decimals). Columns not listed (times, text, links) keep Grafana's defaults.
STYLE: dict[str, tuple[str, int | None]] = {
    "waiting_seconds": DURATION, "response_seconds": DURATION, "median_response_seconds": DURATION,
    "replies_per_post": RATIO, "reply_like_ratio": RATIO, "answered_share": SHARE,
    "current": RATIO, "previous": RATIO, "delta": RATIO, "change_pct": ("percent", 1),
    "session": RATIO, "previous_average": RATIO, "lag_seconds": DURATION,
    **{c: COUNT for c in (
        "posts", "replies", "repliers", "favourites", "boosts", "quotes", "mentions", "follows", "city_replies",
        "distinct_accounts", "new_accounts", "returning_accounts", "dead letters", "spool depth",
        "rate limit left", "catch-up runs", "catch-up pages", "reconnects",
        "page_views", "visits", "signup_clicks", "reply_clicks", "keyword_sms", "keyword_whatsapp",
        "consecutive_failures", "total_failures")},
}

COLUMNS = Catalog({
    "nl": {
        "time": "Tijd", "handle": "Account", "text": "Tekst", "answered": "Beantwoord", "url": "Link",
        "waiting_seconds": "Wacht al", "kpi": "Kengetal", "current": "Deze periode", "previous": "Vorige periode",
        "delta": "Verschil", "change_pct": "Verandering", "format": "Vorm", "posts": "Berichten",
        "replies": "Reacties", "replies_per_post": "Reacties per bericht", "reply_like_ratio": "Reacties per like",
        "distinct_accounts": "Accounts", "new_accounts": "Nieuwe accounts",
        "returning_accounts": "Terugkerende accounts", "answered_share": "Beantwoord (72 u)",
        "median_response_seconds": "Mediane reactietijd", "repliers": "Reageerders", "favourites": "Likes",
        "boosts": "Boosts", "quotes": "Citaten", "mentions": "Vermeldingen", "follows": "Volgers",
        "post_id": "Bericht", "city_replies": "Antwoorden van de stad", "first_reply_at": "Eerste reactie",
        "account": "Account (pseudoniem)", "first_reply": "Eerste reactie", "last_reply": "Laatste reactie",
        "answered_at": "Beantwoord om", "response_seconds": "Reactietijd", "reply_id": "Reactie",
        "channel": "Kanaal", "source": "Bron", "reason": "Reden", "median lag": "Vertraging (gemiddeld)",
        "worst channel": "Vertraging (slechtste kanaal)", "catch-up runs": "Inhaalrondes",
        "catch-up pages": "Opgehaalde pagina's", "reconnects": "Herverbindingen", "dead letters": "Afgekeurd",
        "spool depth": "Wachtrij op schijf", "rate limit left": "API-verzoeken over", "connected": "Verbonden",
        "session": "Deze sessie", "previous_average": "Gemiddelde vorige sessies",
        "page_views": "Bezoeken", "visits": "Bezoeken", "signup_clicks": "Klikken op aanmelden",
        "reply_clicks": "Klikken op reageren", "keyword_sms": "PRAATMEE per sms",
        "keyword_whatsapp": "PRAATMEE per WhatsApp",
        "state": "Toestand", "kind": "Soort taak", "relation": "Werkt op", "consecutive_failures": "Mislukt op rij",
        "total_failures": "Mislukt in totaal", "lag_seconds": "Achterstand", "last_successful_finish": "Laatst gelukt",
        "next_start": "Volgende start", "last_error": "Laatste fout",
    },
    "en": {
        "time": "Time", "handle": "Account", "text": "Text", "answered": "Answered", "url": "Link",
        "waiting_seconds": "Waiting for", "kpi": "KPI", "current": "This period", "previous": "Previous period",
        "delta": "Difference", "change_pct": "Change", "format": "Format", "posts": "Posts",
        "replies": "Replies", "replies_per_post": "Replies per post", "reply_like_ratio": "Reply/like ratio",
        "distinct_accounts": "Accounts", "new_accounts": "New accounts",
        "returning_accounts": "Returning accounts", "answered_share": "Answered (72 h)",
        "median_response_seconds": "Median response time", "repliers": "Repliers", "favourites": "Favourites",
        "boosts": "Boosts", "quotes": "Quotes", "mentions": "Mentions", "follows": "Follows",
        "post_id": "Post", "city_replies": "The city's answers", "first_reply_at": "First reply",
        "account": "Account (pseudonymous)", "first_reply": "First reply", "last_reply": "Last reply",
        "answered_at": "Answered at", "response_seconds": "Response time", "reply_id": "Reply",
        "channel": "Channel", "source": "Source", "reason": "Reason", "median lag": "Lag (average)",
        "worst channel": "Lag (worst channel)", "catch-up runs": "Catch-up runs",
        "catch-up pages": "Pages fetched", "reconnects": "Reconnects", "dead letters": "Dead letters",
        "spool depth": "Spool depth", "rate limit left": "API requests left", "connected": "Connected",
        "session": "This session", "previous_average": "Average of previous sessions",
        "page_views": "Visits", "visits": "Visits", "signup_clicks": "Sign-up clicks",
        "reply_clicks": "Reply clicks", "keyword_sms": "PRAATMEE by SMS",
        "keyword_whatsapp": "PRAATMEE by WhatsApp",
        "state": "State", "kind": "Kind of job", "relation": "Works on", "consecutive_failures": "Failures in a row",
        "total_failures": "Failures in total", "lag_seconds": "Lag", "last_successful_finish": "Last success",
        "next_start": "Next start", "last_error": "Last error",
    },
})

COMMON = Catalog({
    "nl": {
        "boards": "Dashboards", "channel": "Kanaal", "format": "Vorm", "post": "Bericht", "session": "Sessie",
        "open_on_mastodon": "Openen op Mastodon", "post_detail": "Bericht in detail", "yes": "ja", "no": "nee",
        "replies_word": "reacties", "connected": "verbonden", "disconnected": "niet verbonden",
    },
    "en": {
        "boards": "Boards", "channel": "Channel", "format": "Format", "post": "Post", "session": "Session",
        "open_on_mastodon": "Open on Mastodon", "post_detail": "Post detail", "yes": "yes", "no": "no",
        "replies_word": "replies", "connected": "connected", "disconnected": "disconnected",
    },
})


def fields(lang: Language, *columns: str) -> tuple[Field, ...]:
    """Display names (and unit/decimals from `STYLE`) for these result columns."""
    out: list[Field] = []
    for column in columns:
        unit, decimals = STYLE.get(column, (None, None))
        mappings = ((("true", COMMON.text(lang, "yes")), ("false", COMMON.text(lang, "no")))
                    if column == "answered" else ())
        out.append(Field(column, COLUMNS.text(lang, column), unit, decimals, mappings))
    return tuple(out)


def mastodon_link(lang: Language) -> Link:
    """The data link on a table's `url` column: the status itself, on Mastodon."""
    return Link("url", COMMON.text(lang, "open_on_mastodon"), "${__value.raw}")


def sql_text(text: str) -> str:
    """A translated text as a SQL string literal (quotes doubled: `'s avonds` stays one literal)."""
    return "'" + text.replace("'", "''") + "'"
