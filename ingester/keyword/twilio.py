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
from urllib.parse import parse_qsl
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


def valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], header: str | None) -> bool:
    if not header:
        return False
    expected = signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8", "replace"))


def twiml(message: str | None) -> bytes:
    """`<Response><Message>…</Message></Response>`, or an empty `<Response/>`: send nothing."""
    inner = f"<Message>{escape(message)}</Message>" if message else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'.encode()
