"""The web service's slice of the settings (`Settings.web()`): everything `ingester web` needs, nothing else."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from ingester.entrylink import check_source
from ingester.i18n import Language


class WebSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")  # a field the caller passes but nobody reads is a bug

    host: str = "0.0.0.0"
    port: int = 8080
    channel: str = "main"
    title: str | None = None  # None: the catalogue's default name
    mastodon_base_url: str | None = None
    signup_url: str | None = None  # None: the button leads to joinmastodon.org's list of servers
    about: dict[Language, str | None] = {"nl": None, "en": None}
    cta: dict[Language, str | None] = {"nl": None, "en": None}
    formats: tuple[str, ...] = ("qa", "innovator_spotlight", "city_question", "other")
    live_hours: float = 24.0
    replies: int = 3
    cache_seconds: float = 5.0
    sources: tuple[str, ...] = ()  # known ?bron= codes; empty: any well-formed code up to source_cap per day
    source_cap: int = 200
    flush_seconds: float = 30.0
    lookup_seconds: float = 4.0
    timezone: str = "Europe/Amsterdam"

    @field_validator("sources")
    @classmethod
    def _codes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        # the same rule as the posters' codes (`ingester qr --bron`): a known code is one a poster can carry;
        # SourceError is a ValueError whose message never quotes the code
        for code in v:
            check_source(code)
        return v

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("name at least one format")
        return v
