"""Is a `postgresql://` URL well formed? Pure: no connection, and never a word of the URL in the answer.

A password with a special character must be percent-encoded in a URL. When it is not, the two drivers
read the URL differently (libpq through psycopg for `migrate`, urllib through asyncpg for `run`): a '@'
moves part of the password into the host name ("failed to resolve host <part of the password>"), a '/'
or '#' turns it into a port or a database name, a '%zz' makes libpq refuse the whole URL with the
password in its message. So a URL is accepted only when both drivers read the same user, password,
hosts, ports and database from it, and the problem is named by the character, never by the value.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from psycopg.conninfo import conninfo_to_dict

# libpq's and asyncpg's sslmode values; asyncpg refuses any other before it connects (a traceback in
# `check` and `run`, while `migrate` would say the TLS handshake failed).
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
ENCODE_HINT = "percent-encode special characters in the password (@ → %40, : → %3A, / → %2F, # → %23, % → %25)"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def dsn_problem(url: str) -> str | None:
    """None when `url` is a well-formed PostgreSQL URL; else what is wrong and what to do (no value)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return "must be a URL starting with postgresql://"
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    tail = rest[len(authority):]
    if "@" in tail and "@" not in authority:
        which = next(c for c in tail if c in "/?#")
        return f"the password (or user name) holds an unescaped '{which}' — {ENCODE_HINT}"
    if authority.count("@") > 1 or ("@" in tail):
        return f"the password (or user name) holds an unescaped '@' — {ENCODE_HINT}"
    userinfo = authority.rpartition("@")[0]
    if _BAD_PERCENT.search(userinfo):
        return f"the password (or user name) holds a '%' not followed by two hex digits — {ENCODE_HINT}"
    if "#" in url:
        return f"holds an unescaped '#' (a URL fragment is never part of a database URL) — {ENCODE_HINT}"
    if _BAD_PERCENT.search(rest):
        return "holds a '%' not followed by two hex digits — percent-encode '%' as %25"
    try:
        libpq = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - libpq's message quotes the offending token: never show it
        return f"libpq cannot read it; check the host, port and database name — {ENCODE_HINT}"
    if libpq.get("sslmode", "prefer") not in SSLMODES:
        return f"sslmode must be one of {', '.join(SSLMODES)}"
    for host in authority.rpartition("@")[2].split(","):
        port = host.rpartition("]")[2] if host.startswith("[") else host
        if ":" in port and not port.rpartition(":")[2].isdigit():
            return f"the port must be a number (e.g. :5432) — {ENCODE_HINT}"
    try:
        parts = urlsplit(url)
        password = unquote(parts.password) if parts.password is not None else None
        user = unquote(parts.username) if parts.username else None
    except ValueError:
        return f"urllib cannot read it — {ENCODE_HINT}"
    if (libpq.get("password"), libpq.get("user")) != (password, user):
        return f"the user name or password cannot be read the same way by every driver — {ENCODE_HINT}"
    return None


__all__ = ["ENCODE_HINT", "SSLMODES", "dsn_problem"]
