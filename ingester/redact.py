"""Scrub secrets (access tokens, database password, account salt) from anything about to be printed.

Pure: a `Redactor` is built once from the secrets and then only transforms strings. Logging runs it
over every event value and over the final rendered line; every error path that prints a message
(CLI `fail`, `check` output, dead-letter reasons, exception text) should pass it through `scrub`.

Two kinds of matching, because a secret can reach a string in more than one spelling:
- *known secrets*, in every form they travel in: as-is, URL-encoded (`quote`/`quote_plus`, as in
  `?access_token=` or a DSN), JSON-escaped and `repr`-escaped (a secret inside a logged dict);
- *generic shapes* that are secret whatever their value: `Bearer <token>`, `access_token=<v>`,
  `"access_token": "<v>"`, `password=<v>` (libpq key=value conninfo) and the password part of
  `postgres[ql]://user:PASSWORD@host` URLs. These catch secrets the Redactor was not told about
  (a second channel's token, a password of another database in an error message).

Secrets shorter than `MIN_SECRET_LENGTH` are matched only through the generic shapes: scrubbing every
occurrence of a two-letter password would make logs unreadable without protecting anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pydantic import SecretStr

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4

# Shapes that are secret whatever their value. Each keeps the part before the secret (group 1).
_GENERIC: tuple[re.Pattern[str], ...] = (
    # `Authorization: Bearer abc…`, `Bearer%20abc…`; token charset per RFC 6750 b64token.
    re.compile(r"(?i)(\bBearer(?:\s+|%20|\+))[A-Za-z0-9\-._~+/]+=*"),
    # Query strings and form bodies: `?access_token=…&`, also `client_secret`, `password`.
    re.compile(r"(?i)(\b(?:access_token|client_secret|refresh_token|password|passwd)=)[^&\s'\"]+"),
    # JSON / Python dicts: `"access_token": "…"`, `'password': '…'`.
    re.compile(
        r"(?i)([\"'](?:access_token|client_secret|refresh_token|password|passwd|token|salt)[\"']\s*:\s*[\"'])"
        r"[^\"']*"
    ),
    # `postgresql://user:PASSWORD@host/db` (also postgres://). The password may hold ':'; not '@'.
    re.compile(r"(?i)(\bpostgres(?:ql)?(?:\+\w+)?://[^:/@\s]*:)[^@\s]*(?=@)"),
)


def _plain(secret: str | SecretStr | None) -> str | None:
    if secret is None:
        return None
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else str(secret)
    return value or None


def _spellings(secret: str) -> set[str]:
    """Every form in which `secret` may appear inside a string we print."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret),  # path-style: keeps '/'
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def password_of(dsn: str | SecretStr | None) -> str | None:
    """The password inside a `postgresql://user:pw@host/db` URL or `password=pw` conninfo (pure)."""
    text = _plain(dsn)
    if not text:
        return None
    if "://" in text:
        try:
            pw = urlsplit(text).password
        except ValueError:
            return None
        return unquote(pw) if pw else None
    match = re.search(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", text)
    if not match:
        return None
    pw = match.group(1)
    return pw[1:-1].replace("\\'", "'").replace("\\\\", "\\") if pw.startswith("'") else pw


class Redactor:
    """Replaces known secrets and secret-shaped substrings with `[REDACTED]`. Immutable once built."""

    __slots__ = ("_known", "_count")

    def __init__(self, secrets: Iterable[str | SecretStr | None] = ()) -> None:
        forms: set[str] = set()
        count = 0
        for raw in secrets:
            value = _plain(raw)
            if value is None:
                continue
            count += 1
            forms |= _spellings(value)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(forms, key=lambda f: (-len(f), f))
        self._known = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._count = count

    @classmethod
    def from_settings(cls, settings: Any) -> Redactor:
        """Collect every secret a `Settings` object holds: tokens, database password, salt.

        Reads attributes only, so it works even when `settings.channels()` would raise.
        """
        secrets: list[str | SecretStr | None] = [
            getattr(settings, "mastodon_access_token", None),
            getattr(settings, "pulse_account_salt", None),
        ]
        dsn = getattr(settings, "database_url", None)
        secrets.append(password_of(dsn))
        for channel in getattr(settings, "pulse_channels", None) or ():
            secrets.append(getattr(channel, "access_token", None))
        # Every other secret setting (webhook tokens, app secrets, ...): a new one is covered by being a
        # SecretStr. The DSN is covered by its password above; masking it whole would hide the host.
        for name in getattr(type(settings), "model_fields", {}):
            value = getattr(settings, name, None)
            if isinstance(value, SecretStr) and name != "database_url":
                secrets.append(value)
        return cls(secrets)

    def __repr__(self) -> str:  # never show what we hide
        return f"Redactor({self._count} secrets)"

    def scrub(self, text: str) -> str:
        """`text` with every secret masked. Repeats until stable: masking can join two fragments."""
        for _ in range(4):
            out = text
            if self._known is not None:
                out = self._known.sub(MASK, out)
            for pattern in _GENERIC:
                out = pattern.sub(lambda m: m.group(1) + MASK, out)
            if out == text:
                break
            text = out
        return text

    __call__ = scrub

    def scrub_value(self, value: Any) -> Any:
        """Scrub strings inside any JSON-like value (dicts, lists, tuples); other scalars pass as-is.

        Exceptions and unknown objects become their scrubbed `str`, because their text is what
        would be printed.
        """
        if isinstance(value, str):
            return self.scrub(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, (bytes, bytearray)):
            return self.scrub(bytes(value).decode("utf-8", "replace"))
        if isinstance(value, Mapping):
            return {self.scrub(str(k)): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            items = [self.scrub_value(v) for v in value]
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, BaseException):
            return self.describe(value)
        if isinstance(value, SecretStr):
            return "**********"
        return self.scrub(str(value))

    def describe(self, exc: BaseException) -> str:
        """`Type: message` of an exception, scrubbed: the line error paths print."""
        text = str(exc)
        name = type(exc).__name__
        return self.scrub(f"{name}: {text}" if text else name)


__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor", "password_of"]
