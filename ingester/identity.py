"""Pseudonymous account keys: the only account identity analysts ever see.

A key is the hex HMAC-SHA256 of the account's canonical identifier, keyed with the deployment's
secret salt (`PULSE_ACCOUNT_SALT`, kept outside the database). Same account + same salt gives the
same key on every server and every run, so unique-account KPIs work without storing handles; without
the salt nobody can recompute a key from a handle. Pure: no I/O, no state.
"""

from __future__ import annotations

import hashlib
import hmac

KEY_LENGTH = 64  # hex digits of a SHA-256 digest


def account_key(uri: str, salt: str) -> str:
    """Hex HMAC-SHA256 of `uri` keyed with `salt` (64 lower-case hex characters).

    'surrogatepass' keeps the function total: a lone surrogate cannot make it raise, and the
    normaliser rejects such strings before they get here anyway.
    """
    return hmac.new(
        salt.encode("utf-8", "surrogatepass"),
        uri.encode("utf-8", "surrogatepass"),
        hashlib.sha256,
    ).hexdigest()


def account_identifier(uri: str | None, url: str | None, acct: str | None = None) -> str | None:
    """The string an account key is computed over, in order of preference.

    `uri` (the ActivityPub id, Account.uri since Mastodon 4.2) is the canonical identity; older
    servers and the v2 "partial accounts" only send `url` (the profile page). Payloads with neither
    (documentation examples with elided fields, some non-Mastodon servers) fall back to the handle,
    namespaced with 'acct:' so it can never collide with a URL.
    """
    for candidate in (uri, url):
        if candidate:
            return candidate
    if acct:
        return f"acct:{acct}"
    return None


__all__ = ["KEY_LENGTH", "account_identifier", "account_key"]
