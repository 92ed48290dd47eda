"""Language and locale formatting for everything a person reads: boards, alerts, the demo's printout,
the weekly report, the public page.

Numbers, dates and durations are formatted by Babel (CLDR data), never by hand, so a Dutch reader
sees `1.234`, `0,42` and `7 dec 2026`. Texts live beside the code that shows them, as a `Catalog` of
one dict per language; `Catalog` refuses a language whose keys differ from the others', so a text
can never be missing in one language only.

Stable identifiers (uids, SQL column names, metric names) never pass through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Literal, get_args

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "nl"

# The CLDR locale each language is formatted in (en_GB: day-month order and 24-hour clock, as in nl).
LOCALES: dict[Language, str] = {"nl": "nl_NL", "en": "en_GB"}

MISSING = "–"  # shown instead of None/NaN: an en dash reads as "no figure" in both languages


def parse_language(value: str | None) -> Language:
    """`nl`/`en` (any case, `nl-NL` style accepted); ValueError naming the choices otherwise."""
    if value is None or not value.strip():
        return DEFAULT_LANGUAGE
    code = value.strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {value!r}; choose one of {', '.join(LANGUAGES)}")
    return code  # type: ignore[return-value]


def number(value: float | int | None, lang: Language, decimals: int = 0) -> str:
    """`1.234` (nl) / `1,234` (en); `decimals` fixed digits after the separator."""
    if value is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALES[lang])


def ratio(value: float | None, lang: Language, decimals: int = 2) -> str:
    """A ratio such as replies per like: `0,42` (nl)."""
    return number(value, lang, decimals)


def percent(value: float | None, lang: Language, decimals: int = 0) -> str:
    """`value` is a fraction (0.42 → `42%`)."""
    if value is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
    return format_percent(value, format=pattern, locale=LOCALES[lang])


def day(value: date | None, lang: Language) -> str:
    """`7 dec 2026` (nl) / `7 Dec 2026` (en)."""
    if value is None:
        return MISSING
    return format_date(value, format="medium", locale=LOCALES[lang])


def moment(value: datetime | None, lang: Language) -> str:
    """Date and time in the value's own timezone: `7 dec 2026 14:05`."""
    if value is None:
        return MISSING
    return format_datetime(value, format="d MMM y HH:mm", tzinfo=value.tzinfo, locale=LOCALES[lang])


def duration(seconds: float | None, lang: Language) -> str:
    """A rounded duration in words: `12 minuten`, `2 uur` (nl) / `12 minutes`, `2 hours` (en)."""
    if seconds is None:
        return MISSING
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=LOCALES[lang])


class Catalog:
    """Texts of one module in every language; `text(lang, key, **fields)` fills `{field}` slots."""

    def __init__(self, texts: Mapping[Language, Mapping[str, str]]) -> None:
        if set(texts) != set(LANGUAGES):
            raise ValueError(f"catalog must have exactly the languages {LANGUAGES}, got {sorted(texts)}")
        keys = {lang: set(t) for lang, t in texts.items()}
        reference = keys[DEFAULT_LANGUAGE]
        for lang, ks in keys.items():
            if ks != reference:
                diff = sorted(ks ^ reference)
                raise ValueError(f"catalog language {lang!r} differs from {DEFAULT_LANGUAGE!r} in keys {diff}")
        self._texts = {lang: dict(t) for lang, t in texts.items()}

    def text(self, lang: Language, key: str, **fields: object) -> str:
        template = self._texts[lang][key]
        return template.format(**fields) if fields else template

    def keys(self) -> frozenset[str]:
        return frozenset(self._texts[DEFAULT_LANGUAGE])
