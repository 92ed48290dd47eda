"""What an incoming text means and what we answer. Pure.

The keyword is recognised leniently — `PRAATMEE`, `praat mee`, `Praatmee!`, `#praatmee`, any case,
anywhere in the message — but as a word: "ik praat meer" is not a request. Opt-out words count only as
the whole message, as carriers treat them, so "stop" inside a sentence is not an unsubscribe.
"""

from __future__ import annotations

import re
from enum import StrEnum

from ingester.i18n import Catalog, Language


class Intent(StrEnum):
    keyword = "keyword"
    stop = "stop"
    start = "start"
    other = "other"


_KEYWORD = re.compile(r"(?<!\w)praat[\s\-_.]*mee(?!\w)")
# Twilio's standard opt-out words and their Dutch counterparts.
_STOP = frozenset(
    {"stop", "stopp", "stoppen", "afmelden", "uitschrijven", "stopall", "unsubscribe", "cancel", "end", "quit"}
)
_START = frozenset({"start", "unstop"})


def classify(text: str) -> Intent:
    folded = text.casefold()
    bare = " ".join(re.sub(r"[^\w]+", " ", folded).split())
    if bare in _STOP:
        return Intent.stop
    if bare in _START:
        return Intent.start
    if _KEYWORD.search(folded):
        return Intent.keyword
    return Intent.other


# One SMS segment is 160 GSM-7 characters: every answer, link included, stays within it.
TEXTS = Catalog(
    {
        "nl": {
            "keyword": "Praat mee met de gemeente: {link} Meelezen kan zonder account. "
            "Stuur STOP als je geen berichten meer wilt.",
            "other": "Stuur PRAATMEE en je krijgt de link om mee te praten met de gemeente.",
            "stop": "Je bent afgemeld en krijgt geen berichten meer van ons. Stuur START om je weer aan te melden.",
            "start": "Je bent weer aangemeld. Stuur PRAATMEE voor de link.",
        },
        "en": {
            "keyword": "Talk with the city: {link} No account needed to read along. Send STOP to get no more messages.",
            "other": "Send PRAATMEE and we'll send you the link to join the conversation with the city.",
            "stop": "You are unsubscribed and will get no more messages from us. Send START to subscribe again.",
            "start": "You are subscribed again. Send PRAATMEE for the link.",
        },
    }
)


def answer(intent: Intent, link: str, lang: Language) -> str:
    if intent is Intent.keyword:
        return TEXTS.text(lang, "keyword", link=link)
    return TEXTS.text(lang, intent.value)
