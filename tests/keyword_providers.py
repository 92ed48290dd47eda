"""Stand-ins for the keyword's providers, written from their documentation, not from our code.

- `twilio_request`: an inbound-SMS webhook as Twilio sends it (its form fields, `X-Twilio-Signature`
  = base64 HMAC-SHA1 of the URL followed by the sorted parameters, keyed with the auth token).
- `meta_request`: a WhatsApp Cloud API webhook (`entry[].changes[].value.messages[]`, `X-Hub-Signature-256`
  = `sha256=` + hex HMAC-SHA256 of the raw body, keyed with the app secret).
- `GraphStandIn`: the Graph API's `POST /{version}/{phone-number-id}/messages` on 127.0.0.1: checks the
  bearer token and the JSON body as the Cloud API does, and can answer 429/500 first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_form(sender: str, body: str, sid: str) -> dict[str, str]:
    """The fields of Twilio's inbound-message webhook (Messaging, form-encoded)."""
    return {
        "ToCountry": "NL", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": body, "FromCountry": "NL", "To": "+3197010200300", "ToZip": "", "NumSegments": "1",
        "MessageSid": sid, "AccountSid": "AC0123456789abcdef0123456789abcdef", "From": sender,
        "ApiVersion": "2010-04-01",
    }  # fmt: skip


def twilio_request(token: str, url: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(params).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(token, url, params),
        "User-Agent": "TwilioProxy/1.1",
    }
    return body, headers


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _webhook(phone_number_id: str, **value: Any) -> dict[str, Any]:
    """A Cloud API webhook envelope for our number around one `value` (its `messages` or `statuses`)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "31970102003", "phone_number_id": phone_number_id},
                    **value,
                },
            }],
        }],
    }  # fmt: skip


def whatsapp_message(sender: str, text: str, mid: str, phone_number_id: str) -> dict[str, Any]:
    """A Cloud API webhook carrying one text message."""
    return _webhook(
        phone_number_id,
        contacts=[{"profile": {"name": "Sanne"}, "wa_id": sender}],
        messages=[{"from": sender, "id": mid, "timestamp": "1765101234", "type": "text", "text": {"body": text}}],
    )


def whatsapp_status(recipient: str, mid: str, phone_number_id: str) -> dict[str, Any]:
    """A Cloud API webhook carrying only a delivery status: no message."""
    return _webhook(
        phone_number_id,
        statuses=[{
            "id": mid, "status": "delivered", "timestamp": "1765101240", "recipient_id": recipient,
            "conversation": {"id": "CONV1", "origin": {"type": "service"}},
            "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
        }],
    )  # fmt: skip


def meta_request(app_secret: str, payload: dict[str, Any] | bytes) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_signature(app_secret, body),
        "User-Agent": "facebookexternalua",
    }
    return body, headers


def _graph_error(status: int, code: int, message: str) -> web.Response:
    error = {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Az8or2yhqkZfEZ"}}
    return web.json_response(error, status=status)


@dataclass
class GraphStandIn:
    token: str
    phone_number_id: str
    version: str = "v24.0"
    fail_first: list[int] = field(default_factory=list)  # statuses to answer before succeeding
    attempts: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{self.version}/{{phone_number_id}}/messages", self._messages)
        return app

    async def _messages(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.refused.append("token")
            return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if request.match_info["phone_number_id"] != self.phone_number_id:
            self.refused.append("phone number id")
            return _graph_error(400, 100, "Unsupported post request.")
        if self.fail_first:
            status = self.fail_first.pop(0)
            if status == 429:
                return _graph_error(429, 130429, "Rate limit hit")
            return _graph_error(status, 131000, "Something went wrong")
        if request.content_type != "application/json":
            self.refused.append("content type")
            return _graph_error(400, 100, "Invalid parameter")
        body = await request.json()
        ok = (
            body.get("messaging_product") == "whatsapp"
            and body.get("type") == "text"
            and isinstance(body.get("to"), str)
            and isinstance((body.get("text") or {}).get("body"), str)
            and len(body["text"]["body"]) <= 4096
        )
        if not ok:
            self.refused.append("body")
            return _graph_error(400, 100, "Invalid parameter")
        self.sent.append(body)
        wamid = f"wamid.HBgLMzE2MTIzNDU2NzgVAgARGBI{len(self.sent):04d}"
        return web.json_response(
            {"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
             "messages": [{"id": wamid}]}
        )
