"""The PRAATMEE keyword: residents text PRAATMEE by SMS (Twilio) or WhatsApp (Cloud API) and get the link.

Mounted by the web service at `/keyword`: `keyword_app(settings, counter)` gives an aiohttp application
with `POST /sms` and `GET`/`POST /whatsapp`; `disabled_endpoints(settings)` says which are off.

Pure modules (no I/O): `reply` (what a message means, what we answer), `memory` (who was answered,
who said STOP, which messages were seen — keyed hashes only), `twilio` and `whatsapp` (the providers'
signatures and payloads). The I/O shell: `graph` (sending through the Graph API) and `app` (HTTP).
"""

from ingester.keyword.app import keyword_app
from ingester.keyword.config import Counter, KeywordSettings, disabled_endpoints
from ingester.keyword.graph import RetryPolicy

__all__ = ["Counter", "KeywordSettings", "RetryPolicy", "disabled_endpoints", "keyword_app"]
