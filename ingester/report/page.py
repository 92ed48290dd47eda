"""The report as one self-contained HTML page (Jinja2 with autoescape; CSS and SVG inline).

`view(figures, lang)` turns the figures into what a reader sees — formatted values, arrows and deltas
in words — and `render(...)` fills templates/report.html.j2 with it. Every figure carries its raw
value in a `data-value` attribute, so tests can hold the page against the kpi views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2

from ingester import i18n
from ingester.formats import format_label
from ingester.i18n import Language
from ingester.report import chart
from ingester.report.figures import Figures
from ingester.report.texts import TEXTS

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("ingester.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    raw: float | int | None
    arrow: str  # "▲", "▼", "=" or "" (no comparison)
    tone: str  # "good", "bad" or "neutral": the colour of the arrow
    delta: str  # plain language: "12 meer dan de week ervoor (+25%)"


def _t(lang: Language, key: str, **fields: object) -> str:
    return TEXTS.text(lang, key, **fields)


def _missing(key: str, label: str, value: str, cur: object, lang: Language, previous: str) -> Card:
    """A card without a comparison: this period has no figure, or the period before has none."""
    words = _t(lang, "no_figure") if cur is None else _t(lang, "no_comparison", previous=previous)
    return Card(key, label, value, cur, "", "neutral", words)  # type: ignore[arg-type]


def _tone(diff: float, higher_is_better: bool) -> str:
    if diff == 0:
        return "neutral"
    return "good" if (diff > 0) == higher_is_better else "bad"


def count_card(key: str, label: str, cur: int | None, prev: int | None, lang: Language, previous: str) -> Card:
    value = i18n.number(cur, lang)
    if cur is None or prev is None:
        return _missing(key, label, value, cur, lang, previous)
    diff = cur - prev
    if diff == 0:
        return Card(key, label, value, cur, "=", "neutral", _t(lang, "same", previous=previous))
    amount = i18n.number(abs(diff), lang)
    if prev:
        amount += f" ({'+' if diff > 0 else '−'}{i18n.percent(abs(diff) / prev, lang)})"
    words = _t(lang, "more" if diff > 0 else "fewer", amount=amount, previous=previous)
    return Card(key, label, value, cur, "▲" if diff > 0 else "▼", _tone(diff, True), words)


def ratio_card(key: str, label: str, cur: float | None, prev: float | None, lang: Language, previous: str,
               decimals: int) -> Card:
    value = i18n.ratio(cur, lang, decimals)
    if cur is None or prev is None:
        return _missing(key, label, value, cur, lang, previous)
    diff = round(cur, decimals) - round(prev, decimals)  # what the reader can see, not float noise
    was = _t(lang, "was", value=i18n.ratio(prev, lang, decimals))
    if diff == 0:
        return Card(key, label, value, cur, "=", "neutral", _t(lang, "equal", previous=previous))
    words = _t(lang, "higher" if diff > 0 else "lower", previous=previous, was=was)
    return Card(key, label, value, cur, "▲" if diff > 0 else "▼", _tone(diff, True), words)


def share_card(key: str, label: str, cur: float | None, prev: float | None, lang: Language, previous: str) -> Card:
    value = i18n.percent(cur, lang)
    if cur is None or prev is None:
        return _missing(key, label, value, cur, lang, previous)
    points = round(cur * 100) - round(prev * 100)
    if points == 0:
        return Card(key, label, value, cur, "=", "neutral", _t(lang, "equal", previous=previous))
    words = _t(lang, "points_up" if points > 0 else "points_down", amount=i18n.number(abs(points), lang),
               previous=previous)
    return Card(key, label, value, cur, "▲" if points > 0 else "▼", _tone(points, True), words)


def duration_card(key: str, label: str, cur: float | None, prev: float | None, lang: Language,
                  previous: str) -> Card:
    value = i18n.duration(cur, lang)
    if cur is None or prev is None:
        return _missing(key, label, value, cur, lang, previous)
    was = _t(lang, "was", value=i18n.duration(prev, lang))
    if i18n.duration(cur, lang) == i18n.duration(prev, lang):
        return Card(key, label, value, cur, "=", "neutral", _t(lang, "equal", previous=previous))
    diff = cur - prev
    words = _t(lang, "slower" if diff > 0 else "faster", previous=previous, was=was)
    return Card(key, label, value, cur, "▲" if diff > 0 else "▼", _tone(diff, False), words)


def title(figures: Figures, lang: Language) -> str:
    p = figures.period
    if p.is_week:
        return _t(lang, "title_week", week=f"{p.start.isocalendar()[1]} ({p.start.isocalendar()[0]})")
    return _t(lang, "title_range", days=i18n.number(len(p.days), lang))


def view(figures: Figures, lang: Language, made: datetime) -> dict[str, object]:
    """Everything the template shows, formatted for `lang`."""
    cur, prev, p = figures.current, figures.previous, figures.period
    previous = _t(lang, "previous_week" if p.is_week else "previous_period")
    scope = _t(lang, "channel", name=figures.channel) if figures.channel else _t(lang, "all_channels")
    dialogue = [
        ratio_card("replies_per_post", _t(lang, "replies_per_post"), cur["replies_per_post"],
                   prev["replies_per_post"], lang, previous, 1),
        ratio_card("reply_like_ratio", _t(lang, "reply_like_ratio"), cur["reply_like_ratio"],
                   prev["reply_like_ratio"], lang, previous, 2),
        count_card("returning_accounts", _t(lang, "returning_accounts"), cur["returning_accounts"],  # type: ignore[arg-type]
                   prev["returning_accounts"], lang, previous),  # type: ignore[arg-type]
        count_card("distinct_accounts", _t(lang, "distinct_accounts"), cur["distinct_accounts"],  # type: ignore[arg-type]
                   prev["distinct_accounts"], lang, previous),  # type: ignore[arg-type]
    ]
    responses = [
        share_card("answered_share", _t(lang, "answered_share"), cur["answered_share"], prev["answered_share"],
                   lang, previous),
        duration_card("median_response_seconds", _t(lang, "median_response"), cur["median_response_seconds"],
                      prev["median_response_seconds"], lang, previous),
        Card("unanswered_now", _t(lang, "unanswered_now"), i18n.number(figures.unanswered_now, lang),
             figures.unanswered_now, "", "neutral", _t(lang, "unanswered_note")),
    ]
    new, ret = int(cur["new_accounts"] or 0), int(cur["returning_accounts"] or 0)
    accounts = {
        "new": new, "returning": ret,
        # shares of the bar; both 0 without accounts, so an empty period shows an empty (grey) bar
        "new_share": 100 * new / (new + ret) if new + ret else 0,
        "returning_share": 100 * ret / (new + ret) if new + ret else 0,
        "line": _t(lang, "accounts_line", new=i18n.number(new, lang), returning=i18n.number(ret, lang),
                   previous=previous, new_before=i18n.number(prev["new_accounts"], lang),
                   returning_before=i18n.number(prev["returning_accounts"], lang)),
    }
    tz = ZoneInfo(figures.timezone)
    posts = [{
        "post_id": post.post_id,
        "posted": i18n.moment(post.posted_at.astimezone(tz), lang),
        "format": format_label(post.format, lang),
        "replies": post.replies, "replies_text": i18n.number(post.replies, lang),
        "favourites": post.favourites, "favourites_text": i18n.number(post.favourites, lang),
        "ratio_text": i18n.ratio(post.reply_like_ratio, lang),
        # only web links: a stored URL is outside data and must never become a javascript: link
        "url": post.url if post.url and post.url.startswith(("https://", "http://")) else None,
    } for post in figures.top_posts]
    entry = None
    if figures.entry is not None:
        before = figures.entry_previous or {}
        entry = [count_card(k, _t(lang, k), v, before.get(k), lang, previous) for k, v in figures.entry.items()]
    names = {"replies": _t(lang, "replies"), "favourites": _t(lang, "favourites")}
    return {
        "lang": lang,
        "title": title(figures, lang),
        "subtitle": _t(lang, "subtitle", first=i18n.day(p.start, lang), last=i18n.day(p.last_day, lang),
                       scope=scope, previous=previous),
        "dialogue": dialogue,
        "responses": responses,
        "accounts": accounts,
        "chart": chart.build(figures.days, lang, names),
        "days": figures.days,
        "posts": posts,
        "entry": entry,
        "footer": _t(lang, "footer", tz=figures.timezone, made=i18n.moment(made.astimezone(tz), lang)),
        "t": lambda key: _t(lang, key),
    }


def render(figures: Figures, lang: Language, made: datetime) -> str:
    return _ENV.get_template("report.html.j2").render(**view(figures, lang, made))
