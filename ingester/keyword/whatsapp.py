"""WhatsApp Cloud API webhooks: the verification handshake, `X-Hub-Signature-256`, the payload. Pure.

Meta signs the raw request body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`.
Messages arrive as `entry[].changes[].value.messages[]`; the same webhook also carries delivery
`statuses[]` without any message, which are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from ingester.keyword.memory import Inbound

CHALLENGE_MAX = 256


def handshake(query: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo if this is Meta's subscription check with our token; None otherwise."""
    token = query.get("hub.verify_token", "")
    challenge = query.get("hub.challenge", "")
    if query.get("hub.mode") != "subscribe" or not challenge or len(challenge) > CHALLENGE_MAX:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge


def valid(app_secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    given = header[len("sha256=") :].strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode("ascii"), given)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def messages(payload: Any, phone_number_id: str) -> list[Inbound]:
    """Text messages sent to our number. Anything else (statuses, other numbers, media) is skipped."""
    out: list[Inbound] = []
    if not isinstance(payload, dict):
        return out
    for entry in _list(payload.get("entry")):
        for change in _list(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            to_number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if to_number is not None and str(to_number) != phone_number_id:
                continue  # a webhook for another number of the same app: not ours to answer
            for message in _list(value.get("messages")):
                if not isinstance(message, dict) or message.get("type") != "text":
                    continue
                sender, text = message.get("from"), message.get("text")
                body = text.get("body") if isinstance(text, dict) else None
                if isinstance(sender, str) and sender and isinstance(body, str):
                    mid = message.get("id")
                    out.append(Inbound("whatsapp", sender, mid if isinstance(mid, str) else None, body))
    return out


def text_message(to: str, body: str) -> dict[str, Any]:
    """The Graph API request body for a plain text answer.

    No link preview: WhatsApp would fetch the page to build it and count as a visit from `whatsapp`.
    """
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}
