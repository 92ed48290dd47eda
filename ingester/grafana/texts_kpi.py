"""Texts of the *Channel overview* and *Post detail* boards, in every language (see `boards_kpi`)."""

from __future__ import annotations

from ingester.i18n import Catalog

TEXTS = Catalog({
    "nl": {
        "overview.title": "Kanaaloverzicht",
        "overview.desc": "De vier kengetallen voor de gekozen periode tegenover de vorige periode, activiteit en de "
                         "best lopende berichten.",
        "row.kpis": "Kengetallen voor de gekozen periode",
        "replies_per_post": "Reacties per bericht",
        "replies_per_post.desc": "Reacties tot nu toe op de berichten uit de periode, gedeeld door het aantal van "
                                 "die berichten.",
        "reply_like_ratio": "Reacties per like",
        "reply_like_ratio.desc": "Reacties gedeeld door likes voor dezelfde berichten (0 als er geen likes zijn).",
        "returning_accounts": "Terugkerende accounts",
        "returning_accounts.desc": "Accounts die in de periode actief waren en al eerder met het kanaal contact "
                                   "hadden.",
        "distinct_accounts": "Accounts",
        "distinct_accounts.desc": "Accounts (niet het kanaal zelf) met enige interactie in de periode.",
        "compare": "Vergeleken met de vorige periode",
        "compare.desc": "Elk kengetal voor de gekozen periode, de even lange periode ervoor, het verschil en de "
                        "verandering in procenten.",
        "by_format": "Kengetallen per vorm",
        "by_format.desc": "Dezelfde kengetallen per vorm van bericht (vragenronde, spotlight, stadsvraag, overig).",
        "row.activity": "Activiteit",
        "hourly": "Activiteit per uur",
        "hourly.desc": "Reacties, vermeldingen, citaten, likes, boosts en nieuwe volgers per lokaal uur.",
        "daily": "Activiteit per dag",
        "daily.desc": "Hetzelfde per lokale kalenderdag in de ingestelde tijdzone.",
        "weekly": "Activiteit per week",
        "weekly.desc": "Hetzelfde per lokale week (maandag tot en met zondag) in de ingestelde tijdzone; de eerste "
                       "en laatste week tellen alleen het deel binnen de periode.",
        "new_returning": "Nieuwe en terugkerende accounts per dag",
        "new_returning.desc": "Per lokale dag: accounts die voor het eerst reageren, en accounts die al voor die "
                              "dag contact hadden.",
        "row.posts": "Berichten",
        "top_posts": "Best lopende berichten",
        "top_posts.desc": "De berichten van het kanaal uit de periode met de meeste reacties. De link opent het "
                          "bericht op Mastodon; het bericht-id opent het dashboard Bericht in detail.",
        "post.title": "Bericht in detail",
        "post.desc": "Eén bericht van het kanaal: de draad in de tijd, wie reageerde en hoe snel de stad "
                     "antwoordde.",
        "the_post": "Het bericht",
        "the_post.desc": "Cijfers voor het gekozen bericht (likes en boosts volgen de laatst opgehaalde tellers, "
                         "dus ingetrokken likes tellen niet).",
        "thread": "Verloop van de draad",
        "thread.desc": "Reacties overal in de draad (ook diepe reacties die de stad niet noemen), likes, boosts "
                       "en citaten per interval.",
        "median": "Mediane reactietijd",
        "median.desc": "Mediane tijd tussen de reactie van een inwoner en het antwoord van de stad in deze draad.",
        "waiting": "Wacht nog op antwoord",
        "waiting.desc": "Reacties in deze draad aan het adres van de stad die nog geen antwoord hebben.",
        "repliers": "Reageerders",
        "repliers.desc": "Accounts die in de draad reageerden, met een pseudonieme sleutel (geen namen).",
        "answers": "Antwoorden van de stad",
        "answers.desc": "Elke reactie aan het adres van de stad, wanneer de stad antwoordde en hoe lang dat duurde "
                        "(leeg = nog niet beantwoord).",
    },
    "en": {
        "overview.title": "Channel overview",
        "overview.desc": "The four KPIs for the selected range against the previous period, activity and top posts.",
        "row.kpis": "KPIs for the selected range",
        "replies_per_post": "Replies per post",
        "replies_per_post.desc": "Replies so far to the posts published in the range, divided by those posts.",
        "reply_like_ratio": "Reply/like ratio",
        "reply_like_ratio.desc": "Replies divided by favourites for the same posts (0 when there are no favourites).",
        "returning_accounts": "Returning accounts",
        "returning_accounts.desc": "Accounts active in the range that had interacted before it started.",
        "distinct_accounts": "Distinct accounts",
        "distinct_accounts.desc": "Accounts other than the channel's with any interaction in the range.",
        "compare": "Compared with the previous period",
        "compare.desc": "Each KPI for the selected range, the equally long range before it, the difference and "
                        "the change in percent.",
        "by_format": "KPIs by format",
        "by_format.desc": "The same KPIs for each post format (Q&A, spotlight, city question, other).",
        "row.activity": "Activity",
        "hourly": "Activity per hour",
        "hourly.desc": "Replies, mentions, quotes, favourites, boosts and follows per local hour.",
        "daily": "Activity per day",
        "daily.desc": "The same per local calendar day in the configured timezone.",
        "weekly": "Activity per week",
        "weekly.desc": "The same per local week (Monday to Sunday) in the configured timezone; the first and last "
                       "week count only the part inside the range.",
        "new_returning": "New and returning accounts per day",
        "new_returning.desc": "Per local day: accounts interacting for the first time, and accounts that had "
                              "interacted before that day.",
        "row.posts": "Posts",
        "top_posts": "Top posts",
        "top_posts.desc": "The channel's posts published in the range with the most replies. The link opens the "
                          "post on Mastodon; the post id opens the post detail board.",
        "post.title": "Post detail",
        "post.desc": "One post of the channel: its thread over time, who replied, and how fast the city answered.",
        "the_post": "The post",
        "the_post.desc": "Counts for the selected post (favourites and boosts follow the latest re-read counters, "
                         "so taken-back likes are not counted).",
        "thread": "Thread timeline",
        "thread.desc": "Replies anywhere in the thread (also deep replies that never mention the city), "
                       "favourites, boosts and quotes per interval.",
        "median": "Median response time",
        "median.desc": "Median time between a resident's reply and the city's answer in this thread.",
        "waiting": "Still waiting",
        "waiting.desc": "Replies in this thread addressed to the city that have no answer yet.",
        "repliers": "Repliers",
        "repliers.desc": "Accounts that replied in the thread, by pseudonymous key (no handles).",
        "answers": "The city's answers",
        "answers.desc": "Each resident reply addressed to the city, when the city answered and how long it took "
                        "(empty answer = not answered yet).",
    },
})
