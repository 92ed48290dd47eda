"""Pseudonymous account keys: the only account identity analysts ever see.

A key is the hex HMAC-SHA256 of the account's canonical identifier, keyed with the deployment's
secret salt (`PULSE_ACCOUNT_SALT`, kept outside the database). Same account + same salt gives the
same key on every server and every run, so unique-account KPIs work without storing handles; without
the salt nobody can recompute a key from a handle. Pure: no I/O; the only state is a cache of
keyed HMAC objects, which changes speed, never a result.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

KEY_LENGTH = 64  # hex digits of a SHA-256 digest


def account_key(uri: str, salt: str) -> str:
    """Hex HMAC-SHA256 of `uri` keyed with `salt` (64 lower-case hex characters).

    'surrogatepass' keeps the function total: a lone surrogate cannot make it raise, and the
    normaliser rejects such strings before they get here anyway.
    """
    mac = _keyed(salt).copy()
    mac.update(uri.encode("utf-8", "surrogatepass"))
    return mac.hexdigest()


@lru_cache(maxsize=4)
def _keyed(salt: str) -> hmac.HMAC:
    # Keying HMAC hashes the padded key twice; every account key of a deployment uses the same salt,
    # so do that once and copy the keyed state (about half the cost per key). The salt stays in
    # this process's memory only, where the settings object holds it anyway.
    return hmac.new(salt.encode("utf-8", "surrogatepass"), digestmod=hashlib.sha256)


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
