"""Twilio's SMS webhook: the request signature and the TwiML answer. Pure.

Twilio signs `X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + name1 + value1 + name2 + …))`
over the full URL it requested (scheme, host, path, query) followed by every POST parameter, sorted
by name (and, for a repeated name, by value), each name immediately followed by its value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit
from xml.sax.saxutils import escape


class FormError(ValueError):
    """The body is not a valid UTF-8 form."""


def parse_form(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("ascii")  # a form body is percent-encoded ASCII
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise FormError("not a form-encoded body") from None


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """`url` as given and with its default port written out or left off: Twilio signs the URL as it was
    entered in its console, and its own helper libraries accept either spelling."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.hostname is None or "@" in parts.netloc:
        return [url]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port is None:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return [url]
    return [url, urlunsplit(other)]


def valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], header: str | None) -> bool:
    if not header:
        return False
    given = header.strip().encode("utf-8", "replace")
    pairs = list(params)
    # Compare every candidate (no early exit), each in constant time.
    results = [hmac.compare_digest(signature(auth_token, u, pairs).encode("ascii"), given) for u in url_variants(url)]
    return any(results)


def twiml(message: str | None) -> bytes:
    """`<Response><Message>…</Message></Response>`, or an empty `<Response/>`: send nothing."""
    inner = f"<Message>{escape(message)}</Message>" if message else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'.encode()
