"""Every text of the public page, in Dutch and English (one `Catalog`, so none is missing in one language).

Write for residents who may never have heard of Mastodon: short sentences, no jargon.
"""

from __future__ import annotations

from ingester.i18n import Catalog

TEXTS = Catalog({
    "nl": {
        "title": "Praat mee met de gemeente",
        "about": "Dit is het Mastodon-kanaal van de gemeente Amsterdam. Het Innovatieteam beheert het en leest "
                 "alle reacties. Wat je schrijft, nemen we mee in ons werk. Geen advertenties, we volgen je niet.",
        "cta": "Stel je vraag aan het Innovatieteam. Jouw input nemen we mee in onze plannen.",
        "skip": "Naar de gesprekken",
        "conversations": "Gesprekken van nu",
        "live": "Nu live",
        "replies_one": "1 reactie",
        "replies_many": "{count} reacties",
        "replies_heading": "Eerste reacties",
        "read_all": "Lees het hele gesprek",
        "reply_here": "Reageer op dit gesprek",
        "edited": "bewerkt",
        "by_city": "gemeente",
        "signup": "Account aanmaken (2 min)",
        "have_account": "Heb je al een Mastodon-account? Reageer direct",
        "join_heading": "Doe mee",
        "none": "Er zijn op dit moment geen gesprekken om te tonen. Kom later nog eens kijken.",
        "privacy": "Deze pagina gebruikt geen cookies en volgt je niet. We tellen alleen hoe vaak de pagina "
                   "per dag wordt bekeken.",
        "other_language": "English",
        "other_language_label": "Read this page in English",
        "reply_title": "Reageer vanaf je eigen Mastodon-account",
        "reply_intro": "Vul je Mastodon-server of je account in. We sturen je door naar je eigen server. Daar "
                       "open je het gesprek en kun je reageren.",
        "reply_label": "Jouw server of account",
        "reply_hint": "Bijvoorbeeld mastodon.social of @naam@mastodon.social",
        "reply_submit": "Ga verder",
        "back": "Terug naar de gesprekken",
        "error_heading": "Dat lukte niet",
        "err_invalid": "Vul een servernaam in (zoals mastodon.social) of een account (zoals "
                       "@naam@mastodon.social).",
        "err_forbidden": "Dit adres kunnen we niet gebruiken. Vul de naam van een openbare Mastodon-server in.",
        "err_unreachable": "We konden de server {host} niet bereiken. Controleer de naam en probeer het opnieuw.",
        "err_no_template": "De server {host} vertelt niet hoe je vanaf daar kunt reageren. Vul alleen de "
                           "servernaam in, of maak een account aan.",
        "err_no_post": "Er is nu geen gesprek om op te reageren. Kom later nog eens kijken.",
    },
    "en": {
        "title": "Talk with the City",
        "about": "This is the Mastodon channel of the City of Amsterdam. The Innovation team runs it and reads "
                 "every reply. What you write feeds into our work. No ads, and we do not track you.",
        "cta": "Ask the Innovation team your question. Your input feeds into our plans.",
        "skip": "Skip to the conversations",
        "conversations": "Current conversations",
        "live": "Live now",
        "replies_one": "1 reply",
        "replies_many": "{count} replies",
        "replies_heading": "First replies",
        "read_all": "Read the whole conversation",
        "reply_here": "Reply to this conversation",
        "edited": "edited",
        "by_city": "City",
        "signup": "Create an account (2 min)",
        "have_account": "Already have a Mastodon account? Reply directly",
        "join_heading": "Join in",
        "none": "There are no conversations to show right now. Please come back later.",
        "privacy": "This page uses no cookies and does not track you. We only count how often the page is "
                   "viewed per day.",
        "other_language": "Nederlands",
        "other_language_label": "Lees deze pagina in het Nederlands",
        "reply_title": "Reply from your own Mastodon account",
        "reply_intro": "Enter your Mastodon server or your account. We send you on to your own server, where "
                       "you open the conversation and can reply.",
        "reply_label": "Your server or account",
        "reply_hint": "For example mastodon.social or @name@mastodon.social",
        "reply_submit": "Continue",
        "back": "Back to the conversations",
        "error_heading": "That did not work",
        "err_invalid": "Enter a server name (like mastodon.social) or an account (like @name@mastodon.social).",
        "err_forbidden": "We cannot use this address. Enter the name of a public Mastodon server.",
        "err_unreachable": "We could not reach the server {host}. Check the name and try again.",
        "err_no_template": "The server {host} does not say how to reply from there. Enter just the server name, "
                           "or create an account.",
        "err_no_post": "There is no conversation to reply to right now. Please come back later.",
    },
})
