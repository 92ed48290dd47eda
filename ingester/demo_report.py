"""The demo's printout, in words a social-media team member understands (Dutch by default, English with
PULSE_LANGUAGE=en). Pure: figures in, lines out; numbers, dates and durations through ingester.i18n."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ingester import i18n
from ingester.i18n import Catalog, Language

TEXTS = Catalog({
    "nl": {
        "title": "Praatmee Pulse — demo met een gesimuleerd kanaal",
        "database": "Database: {tier} ({name})",
        "history": "Geschiedenis: {days} dagen ({first} t/m {last}), met de overgang naar {season} op {change}; "
                   "die haalt Pulse bij de eerste start op.",
        "winter": "wintertijd",
        "summer": "zomertijd",
        "live": "Daarna live: {actions} acties in {seconds}; de verbinding werd {drops} keer verbroken en hersteld.",
        "truth_head": "Opgehaald, naast wat de simulator werkelijk deed:",
        "kind": "soort",
        "ingested": "opgehaald",
        "truth": "werkelijk",
        "differs": "← wijkt af",
        "kind.reply": "reacties",
        "kind.mention": "vermeldingen",
        "kind.quote": "citaten",
        "kind.favourite": "favorieten",
        "kind.reblog": "boosts",
        "kind.follow": "nieuwe volgers",
        "kpi_head": "Kerncijfers",
        "last": "afgelopen 7 dagen",
        "before": "7 dagen daarvoor",
        "kpi.replies_per_post": "Reacties per bericht van de stad",
        "kpi.reply_like_ratio": "Reacties per favoriet (gesprek of alleen applaus?)",
        "kpi.returning_accounts": "Terugkerende mensen (eerder al actief)",
        "kpi.distinct_accounts": "Verschillende mensen die reageerden",
        "response_head": "Reageren op inwoners",
        "kpi.answered_share": "Reacties die de stad binnen 72 uur beantwoordde",
        "kpi.median_response": "Gebruikelijke wachttijd op een antwoord (mediaan)",
        "kpi.city_replies": "Antwoorden van de stad",
        "spans": "De {last} zijn {last_span} (vandaag tot nu); de {before} zijn {before_span}.",
        "notes": "Berichten tellen in de periode waarin ze geplaatst zijn, met alle reacties en favorieten tot nu; "
                 "mensen en antwoorden tellen in de periode waarin ze actief waren.",
        "same": "Alles is opgehaald: gelijk aan wat de simulator deed.",
        "not_same": "Opgehaald wijkt af van wat de simulator deed.",
    },
    "en": {
        "title": "Praatmee Pulse — demo with a simulated channel",
        "database": "Database: {tier} ({name})",
        "history": "History: {days} days ({first} to {last}), including the clock change to {season} on {change}; "
                   "Pulse fetches it on its first start.",
        "winter": "winter time",
        "summer": "summer time",
        "live": "Then live: {actions} actions in {seconds}; the connection was cut {drops} times and restored.",
        "truth_head": "Fetched, beside what the simulator really did:",
        "kind": "kind",
        "ingested": "fetched",
        "truth": "really",
        "differs": "← differs",
        "kind.reply": "replies",
        "kind.mention": "mentions",
        "kind.quote": "quotes",
        "kind.favourite": "favourites",
        "kind.reblog": "boosts",
        "kind.follow": "new followers",
        "kpi_head": "Key figures",
        "last": "last 7 days",
        "before": "7 days before",
        "kpi.replies_per_post": "Replies per post by the city",
        "kpi.reply_like_ratio": "Replies per favourite (conversation or just applause?)",
        "kpi.returning_accounts": "Returning people (active before)",
        "kpi.distinct_accounts": "Different people who engaged",
        "response_head": "Answering residents",
        "kpi.answered_share": "Replies the city answered within 72 hours",
        "kpi.median_response": "Typical wait for an answer (median)",
        "kpi.city_replies": "Answers by the city",
        "spans": "The {last} are {last_span} (today up to now); the {before} are {before_span}.",
        "notes": "Posts count in the period they were published, with all their replies and favourites so far; "
                 "people and answers count in the period they were active.",
        "same": "Everything was fetched: equal to what the simulator did.",
        "not_same": "What was fetched differs from what the simulator did.",
    },
})

KINDS = ("reply", "mention", "quote", "favourite", "reblog", "follow")
# Columns of kpi.summary in the order of the printout: the four KPIs, then the response KPIs.
KPIS = ("replies_per_post", "reply_like_ratio", "returning_accounts", "distinct_accounts")
RESPONSE_KPIS = ("answered_share", "median_response", "city_replies")


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    figures: Mapping[str, Any]  # one row of kpi.summary


def kpi_value(key: str, figures: Mapping[str, Any], lang: Language) -> str:
    """One KPI, rounded for people: ratios to 2 decimals, counts whole, shares in %, waits in words."""
    if key in ("replies_per_post", "reply_like_ratio"):
        value = figures.get(key)
        return i18n.ratio(float(value) if value is not None else None, lang, 2)
    if key == "answered_share":
        value = figures.get(key)
        return i18n.percent(float(value) if value is not None else None, lang)
    if key == "median_response":
        return i18n.duration(figures.get("median_response_seconds"), lang)
    return i18n.number(figures.get(key), lang)


def kpi_lines(last: Period, before: Period, lang: Language) -> list[str]:
    t = TEXTS.text
    head_last, head_before = t(lang, "last"), t(lang, "before")
    spans = t(lang, "spans", last=head_last, before=head_before,
              last_span=f"{i18n.day(last.first, lang)} – {i18n.day(last.last, lang)}",
              before_span=f"{i18n.day(before.first, lang)} – {i18n.day(before.last, lang)}")

    def kpi_rows(keys: Sequence[str]) -> list[tuple[str, str, str]]:
        return [(t(lang, f"kpi.{k}"), kpi_value(k, last.figures, lang), kpi_value(k, before.figures, lang))
                for k in keys]

    rows = [(t(lang, "kpi_head"), head_last, head_before), *kpi_rows(KPIS),
            ("", "", ""), (t(lang, "response_head"), "", ""), *kpi_rows(RESPONSE_KPIS)]
    width = max(len(r[0]) for r in rows)
    col = max(len(head_last), *(len(r[1]) for r in rows))
    out = [f"{a:<{width}}  {b:>{col}}  {c}".rstrip() if b or c else a for a, b, c in rows]
    return [spans, "", *out, "", t(lang, "notes")]


def truth_lines(got: Mapping[str, int], want: Mapping[str, int], lang: Language) -> list[str]:
    t = TEXTS.text
    names = {k: t(lang, f"kind.{k}") for k in KINDS}
    width = max(len(n) for n in [*names.values(), t(lang, "kind")])
    lines = [t(lang, "truth_head"),
             f"  {t(lang, 'kind'):<{width}}  {t(lang, 'ingested'):>10}  {t(lang, 'truth'):>10}"]
    for k in KINDS:
        flag = "" if got.get(k, 0) == want.get(k, 0) else f"  {t(lang, 'differs')}"
        lines.append(f"  {names[k]:<{width}}  {i18n.number(got.get(k, 0), lang):>10}  "
                     f"{i18n.number(want.get(k, 0), lang):>10}{flag}")
    return lines


def history_line(first: date, last: date, change: date, to_winter: bool, lang: Language) -> str:
    return TEXTS.text(lang, "history", days=i18n.number((last - first).days + 1, lang), first=i18n.day(first, lang),
                      last=i18n.day(last, lang), season=TEXTS.text(lang, "winter" if to_winter else "summer"),
                      change=i18n.day(change, lang))


def live_line(actions: int, seconds: float, drops: int, lang: Language) -> str:
    return TEXTS.text(lang, "live", actions=i18n.number(actions, lang), seconds=i18n.duration(seconds, lang),
                      drops=i18n.number(drops, lang))


def printed_kpis(lines: Sequence[str], lang: Language) -> dict[str, tuple[str, str]]:
    """Read the KPI rows back from a printout (for tests): label key -> (last 7 days, 7 days before)."""
    out: dict[str, tuple[str, str]] = {}
    for key in (*KPIS, *RESPONSE_KPIS):
        label = TEXTS.text(lang, f"kpi.{key}")
        row = next(line for line in lines if line.startswith(label + " "))
        values = [v for v in row[len(label):].split("  ") if v.strip()]
        out[key] = (values[0].strip(), values[1].strip())
    return out
