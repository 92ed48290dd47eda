"""The hashtag -> format map: which kind of post ("format") a post is, from its hashtags.

A post's format is the format of its first mapped hashtag in the map's order (its precedence),
compared case-insensitively; a post with no mapped hashtag is `other`. Replies inherit the format of
their thread's root post (that part lives in SQL: `pulse.own_statuses`).

The map is configured as one setting value, e.g. `PULSE_FORMATS="InnovatorSpotlight=innovator_spotlight,
QenA=qa,QandA=qa,AMA=qa,VraagVanDeGemeente=city_question"` (this is also the default). Parsing is
pure; `apply_formats` writes a parsed map into `pulse.formats`, where the kpi views read it at query
time (no re-materialising needed when it changes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import psycopg

from ingester.i18n import Catalog, Language

if TYPE_CHECKING:  # the service's driver; `migrate` does not need it loaded
    import asyncpg

FormatMap = tuple[tuple[str, str], ...]  # ((tag, format), ...) in precedence order

OTHER = "other"

# What a person reads for each built-in format, wherever one is shown (the public page, the weekly report).
_LABELS = Catalog({
    "nl": {"qa": "Vragenuur", "innovator_spotlight": "Innovator spotlight",
           "city_question": "Vraag van de gemeente", OTHER: "Bericht"},
    "en": {"qa": "Q&A session", "innovator_spotlight": "Innovator spotlight",
           "city_question": "Question from the city", OTHER: "Post"},
})


def format_label(fmt: str, lang: Language) -> str:
    """The format's name for a reader; a city's own format (PULSE_FORMATS) has no text and reads as its name."""
    return _LABELS.text(lang, fmt) if fmt in _LABELS.keys() else fmt

DEFAULT_FORMATS: FormatMap = (
    ("innovatorspotlight", "innovator_spotlight"),
    ("qena", "qa"),
    ("qanda", "qa"),
    ("ama", "qa"),
    ("vraagvandegemeente", "city_question"),
)

# Mastodon hashtags are word characters (letters, digits, underscore; Unicode letters allowed).
_TAG = re.compile(r"^\w+$")
_FORMAT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class FormatMapError(ValueError):
    """The format map setting is malformed; `str()` is one readable line (without the variable name,
    which the caller adds: `PULSE_FORMATS: ...`)."""


def normalize_tag(tag: str) -> str:
    """Tags compare case-insensitively and may be written with or without '#'."""
    return tag.strip().lstrip("#").strip().lower()


def parse_formats(value: str | Mapping[str, str] | None) -> FormatMap:
    """Parse `tag=format,tag=format` (or a mapping); empty or None gives the defaults.

    Raises FormatMapError for an item without '=', an invalid tag or format name, or a tag given twice
    with different formats.
    """
    if value is None:
        return DEFAULT_FORMATS
    if isinstance(value, Mapping):
        items: Iterable[tuple[str, str]] = value.items()
    else:
        if not value.strip():
            return DEFAULT_FORMATS
        pairs = []
        for raw in value.split(","):
            if not raw.strip():
                continue
            tag, sep, fmt = raw.partition("=")
            if not sep:
                raise FormatMapError(f"expected tag=format, got {raw.strip()!r}")
            pairs.append((tag, fmt))
        items = pairs
    out: dict[str, str] = {}
    for tag, fmt in items:
        t, f = normalize_tag(tag), fmt.strip().lower()
        if not _TAG.match(t):
            raise FormatMapError(f"{tag.strip()!r} is not a hashtag")
        if not _FORMAT.match(f):
            raise FormatMapError(
                f"format {fmt.strip()!r} must be lower-case letters, digits or '_' (max 63)"
            )
        if out.get(t, f) != f:
            raise FormatMapError(f"#{t} is mapped twice ({out[t]} and {f})")
        out.setdefault(t, f)
    if not out:
        return DEFAULT_FORMATS
    return tuple(out.items())


def format_of(tags: Iterable[str], mapping: FormatMap = DEFAULT_FORMATS) -> str:
    """The format of a post with these tags (the same rule as SQL `pulse.post_format`)."""
    have = {normalize_tag(t) for t in tags}
    for tag, fmt in mapping:
        if tag in have:
            return fmt
    return OTHER


def apply_formats(conn: psycopg.Connection, mapping: FormatMap) -> None:
    """Replace the map in `pulse.formats` (one transaction; precedence = position in `mapping`).

    Called by `ingester migrate` after the migrations; idempotent.
    """
    with conn.transaction():
        conn.execute("DELETE FROM pulse.formats")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO pulse.formats (tag, format, precedence) VALUES (%s, %s, %s)", _rows(mapping))


async def apply_formats_async(conn: asyncpg.Connection, mapping: FormatMap) -> None:
    """`apply_formats` for the service's asyncpg connection: `run` applies PULSE_FORMATS as `migrate` does."""
    async with conn.transaction():
        await conn.execute("DELETE FROM pulse.formats")
        await conn.executemany(
            "INSERT INTO pulse.formats (tag, format, precedence) VALUES ($1, $2, $3)", _rows(mapping)
        )


def _rows(mapping: FormatMap) -> list[tuple[str, str, int]]:
    """The rows of `pulse.formats`: precedence is the position in the map, from 1."""
    return [(tag, fmt, i) for i, (tag, fmt) in enumerate(mapping, start=1)]
