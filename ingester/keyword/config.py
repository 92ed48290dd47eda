"""The keyword's settings slice, the counter it reports to, and which endpoints its settings enable."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, SecretStr

from ingester.i18n import Language


class Counter(Protocol):
    """Counts requests per day (the implementation picks the day) and kind/source; nothing else."""

    def add(self, kind: str, source: str) -> None: ...


class KeywordSettings(BaseModel):
    """`Settings.keyword()`. Secrets stay SecretStr until the moment they are used."""

    model_config = ConfigDict(frozen=True)

    entry_url: str | None = None
    public_url: str | None = None
    twilio_auth_token: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_graph_url: str = "https://graph.facebook.com/v24.0"
    language: Language = "nl"


def _missing_sms(s: KeywordSettings) -> list[str]:
    pairs = (
        ("PULSE_ENTRY_URL", s.entry_url),
        ("PULSE_WEB_PUBLIC_URL", s.public_url),
        ("PULSE_TWILIO_AUTH_TOKEN", s.twilio_auth_token),
    )
    return [name for name, value in pairs if not value]


def _missing_whatsapp(s: KeywordSettings) -> list[str]:
    pairs = (
        ("PULSE_ENTRY_URL", s.entry_url),
        ("PULSE_WHATSAPP_VERIFY_TOKEN", s.whatsapp_verify_token),
        ("PULSE_WHATSAPP_APP_SECRET", s.whatsapp_app_secret),
        ("PULSE_WHATSAPP_ACCESS_TOKEN", s.whatsapp_access_token),
        ("PULSE_WHATSAPP_PHONE_NUMBER_ID", s.whatsapp_phone_number_id),
    )
    return [name for name, value in pairs if not value]


def sms_enabled(s: KeywordSettings) -> bool:
    return not _missing_sms(s)


def whatsapp_enabled(s: KeywordSettings) -> bool:
    return not _missing_whatsapp(s)


def disabled_endpoints(settings: KeywordSettings, prefix: str = "/keyword") -> list[str]:
    """One line per endpoint that answers 404 because settings are missing (names only, never values)."""
    out = []
    if missing := _missing_sms(settings):
        out.append(f"POST {prefix}/sms is off (404): set {', '.join(missing)}")
    if missing := _missing_whatsapp(settings):
        out.append(f"GET/POST {prefix}/whatsapp is off (404): set {', '.join(missing)}")
    return out
