"""The one public link of the entry route (`PULSE_ENTRY_URL`) and its per-source variants.

Every QR poster and every keyword answer carries the same link with `?bron=<code>` appended, so the
page can count visits per source without tracking anyone. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SOURCE_MAX = 40
# Lower-case slug: letters, digits and single inner hyphens; what a person can type off a poster and
# what the page's counter accepts as a source name.
_SOURCE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SourceError(ValueError):
    """A source code that is not a lower-case slug of at most `SOURCE_MAX` characters."""


def check_source(code: str) -> str:
    """`code` itself if it is a valid source code; `SourceError` with one readable sentence otherwise."""
    if not code:
        raise SourceError("is empty")
    if len(code) > SOURCE_MAX:
        raise SourceError(f"is longer than {SOURCE_MAX} characters")
    if not _SOURCE.match(code):
        raise SourceError("may only hold lower-case letters a-z, digits and single hyphens between them")
    return code


@dataclass(frozen=True)
class EntryLink:
    """`base` is the validated `PULSE_ENTRY_URL` (http(s), no query string or fragment)."""

    base: str

    def for_source(self, code: str) -> str:
        """The exact link a poster or answer carries: `https://host/path?bron=<code>`."""
        return f"{self.base}?bron={check_source(code)}"

    @property
    def short(self) -> str:
        """What a person reads and types: host and path, no scheme, no query (`www.amsterdam.nl/praatmee`)."""
        parts = urlsplit(self.base)
        host = parts.hostname or ""
        try:  # an internationalised domain arrives in punycode; print it as people write it
            host = host.encode("ascii").decode("idna")
        except UnicodeError:
            pass
        port = f":{parts.port}" if parts.port else ""
        return f"{host}{port}{parts.path}".rstrip("/")
