"""One typed settings object, built at the edge from the environment (and an optional `.env`).

Each part of the service receives only the slice it needs (`ChannelSettings`, `SinkSettings`, ...),
never the whole object. A missing or invalid setting raises `SettingsError` with one readable
line naming the variable; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingester.i18n import Language

if TYPE_CHECKING:  # the slices' own modules import settings-free code only; imported lazily at run time
    from ingester.keyword.config import KeywordSettings
    from ingester.qr.poster import PosterSettings
    from ingester.report.delivery import DeliverySettings
    from ingester.web.config import WebSettings

Tier = Literal["auto", "timescaledb", "postgres"]  # PULSE_TIER
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SettingsError(Exception):
    """One or more settings are missing or invalid; every problem is one line naming its variable.

    All problems are reported at once, one line each. `str()` joins them so that
    `f"ingester: {exc}"` gives every line the `ingester: ` prefix; the command group in ingester.cli
    prints it so for every subcommand and exits 2.
    """

    def __init__(self, *problems: str) -> None:
        self.problems: tuple[str, ...] = tuple(dict.fromkeys(problems)) or ("SETTINGS: invalid",)
        super().__init__("\ningester: ".join(self.problems))


# What is missing of the channel settings: said the same way by `Settings.channels()` and, when another
# setting already failed, by `_channel_presence_problems()`.
_NO_TOKEN = ("MASTODON_ACCESS_TOKEN: missing (MASTODON_BASE_URL is set) — set the channel's token, "
             "or unset MASTODON_BASE_URL to play the simulator with --simulate")
_NO_SERVER = "MASTODON_BASE_URL: missing (MASTODON_ACCESS_TOKEN is set) — set the server's URL"
_NO_CHANNEL = "MASTODON_ACCESS_TOKEN: missing — set MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN, or PULSE_CHANNELS"


def _split_tags(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    # Mastodon normalises tags server-side but echoes what the client sent; send lower-case
    # without '#' so the `stream` array in frames matches what we subscribed to.
    return [t.strip().lstrip("#").lower() for t in items if t.strip().lstrip("#")]


class ChannelSettings(BaseModel):
    """One city account ("channel") to collect from."""

    model_config = ConfigDict(frozen=True)

    name: str
    base_url: AnyHttpUrl
    access_token: SecretStr
    hashtags: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be lower-case letters, digits, '-' or '_' (max 63)")
        return v

    @field_validator("hashtags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> tuple[str, ...]:
        return tuple(_split_tags(v))

    @field_validator("base_url")
    @classmethod
    def _no_userinfo(cls, v: AnyHttpUrl) -> AnyHttpUrl:
        return _server_url(v)

    @property
    def api_base(self) -> str:
        return str(self.base_url).rstrip("/")


def _server_url(v: AnyHttpUrl) -> AnyHttpUrl:
    # A Mastodon server URL never carries credentials; one that does would print them in every log line.
    if v.username or v.password:
        raise ValueError("must not hold a user name or password — put the token in the access token setting")
    return v


# Every reader of the environment reads it the same way. Empty values mean unset: compose passes
# `${MASTODON_ACCESS_TOKEN:-}` as "" when it is not set.
_ENV = SettingsConfigDict(
    env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False, env_ignore_empty=True
)


def _check_timezone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {v!r}") from None
    return v


def _check_entry_url(v: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if v is not None and (v.query or v.fragment):
        raise ValueError("must not contain '?' or '#' (?bron=<code> is added per source)")
    return v


def _check_language(v: str) -> str:
    from ingester.i18n import parse_language

    return parse_language(v)


class DatabaseUrlSettings(BaseSettings):
    """DATABASE_URL and its one rule (ingester.dsn). Every settings class that reads DATABASE_URL derives
    from this (and is read through `read_settings`), so the rule and its message are the same everywhere."""

    model_config = _ENV

    database_url: SecretStr = Field(description="PostgreSQL/TimescaleDB URL for the ingester")

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, v: SecretStr) -> SecretStr:
        from ingester.dsn import dsn_problem

        problem = dsn_problem(v.get_secret_value())
        if problem:
            raise ValueError(problem)
        return v

    def dsn(self) -> str:
        return self.database_url.get_secret_value()


class SinkSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch_size: int = 500
    batch_max_age_ms: int = 200


class Settings(DatabaseUrlSettings):
    """Every variable the service reads. Names are the environment variable names."""

    mastodon_base_url: AnyHttpUrl | None = Field(
        default=None, description="Base URL of the Mastodon server of the (first) channel"
    )
    mastodon_access_token: SecretStr | None = Field(
        default=None, description="User access token with read:notifications and read:statuses"
    )
    pulse_channel_name: str = Field(default="main", description="Name recorded for that channel")
    pulse_channels: Annotated[list[ChannelSettings], NoDecode] = Field(
        default_factory=list,
        description='Extra channels as JSON: [{"name":..,"base_url":..,"access_token":..,"hashtags":[..]}]',
    )
    pulse_account_salt: SecretStr = Field(
        description="Secret key for pseudonymous account keys (HMAC-SHA256); kept outside the database"
    )
    pulse_hashtags: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated hashtags to follow for every channel"
    )
    pulse_batch_size: int = Field(default=500, ge=1, le=50_000)
    pulse_batch_max_age_ms: int = Field(default=200, ge=1, le=60_000)
    pulse_timezone: str = Field(default="Europe/Amsterdam")
    pulse_backfill_since: date | None = Field(
        default=None, description="On first start, backfill notifications from this date (default: all)"
    )
    pulse_reconcile_seconds: float = Field(default=180.0, gt=0)
    pulse_idle_timeout_seconds: float = Field(default=90.0, gt=0)
    pulse_metrics_port: int = Field(default=9108, ge=0, le=65535)
    pulse_log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    pulse_text_retention_days: int = Field(default=180, ge=1, description="Reply text kept this long")
    pulse_other_retention_days: int = Field(default=7, ge=1)
    pulse_dead_letter_retention_days: int = Field(default=30, ge=1)
    pulse_heartbeat_retention_days: int = Field(default=30, ge=1)
    pulse_retention_every_seconds: float = Field(default=3600.0, gt=0)
    pulse_spool_dir: Path | None = Field(
        default=None, description="Directory of the on-disk spool used while the database is down (default: temp dir)"
    )
    pulse_spool_max_mb: int = Field(default=256, ge=0, le=1_000_000, description="Disk spool size; 0 = memory only")
    pulse_language: str = Field(
        default="nl", description="Language of boards, alerts, reports and printouts people read: nl or en"
    )
    pulse_formats: str | None = Field(
        default=None,
        description="Hashtag-to-format map, e.g. 'InnovatorSpotlight=innovator_spotlight,QenA=qa' (defaults built in)",
    )

    # -- weekly report by e-mail (ingester/report/): off while PULSE_SMTP_HOST and PULSE_REPORT_TO are unset --
    pulse_smtp_host: str | None = Field(default=None, description="SMTP server for the weekly report")
    pulse_smtp_port: int = Field(default=587, ge=1, le=65535, description="587 with STARTTLS; 465 = implicit TLS")
    pulse_smtp_user: str | None = Field(default=None, description="SMTP login (none: no AUTH)")
    pulse_smtp_password: SecretStr | None = Field(default=None, description="SMTP password (secret)")
    pulse_smtp_starttls: bool = Field(default=True, description="STARTTLS before login (port 465 is TLS anyway)")
    pulse_report_to: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated recipients of the weekly report"
    )
    pulse_report_from: str | None = Field(default=None, description="Sender address (default: PULSE_SMTP_USER)")
    pulse_report_day: str = Field(default="mon", pattern="^(mon|tue|wed|thu|fri|sat|sun)$")
    pulse_report_time: str = Field(default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    pulse_report_channel: str | None = Field(default=None, description="Report on this channel only (default: all)")

    @field_validator("pulse_report_to", mode="before")
    @classmethod
    def _recipients(cls, v: Any) -> list[str]:
        items = [a.strip() for a in (v.split(",") if isinstance(v, str) else list(v or [])) if a.strip()]
        for a in items:
            if not re.fullmatch(r"[^@\s,;]+@[^@\s,;]+", a):
                raise ValueError("must be comma-separated e-mail addresses")
        return items

    # --- Entry route: QR posters and the PRAATMEE keyword (issue #10, ingester/qr, ingester/keyword) ---
    pulse_entry_url: AnyHttpUrl | None = Field(
        default=None,
        description="The one public link (QR codes, keyword answers), e.g. https://www.amsterdam.nl/praatmee; "
        "?bron=<code> is appended per source",
    )
    pulse_twilio_auth_token: SecretStr | None = Field(
        default=None, description="Twilio auth token: verifies X-Twilio-Signature on POST /keyword/sms"
    )
    pulse_whatsapp_verify_token: SecretStr | None = Field(
        default=None, description="Token the WhatsApp webhook handshake (GET /keyword/whatsapp) must echo"
    )
    pulse_whatsapp_app_secret: SecretStr | None = Field(
        default=None, description="Meta app secret: verifies X-Hub-Signature-256 on POST /keyword/whatsapp"
    )
    pulse_whatsapp_access_token: SecretStr | None = Field(
        default=None, description="Bearer token for sending the answer through the Graph API"
    )
    pulse_whatsapp_phone_number_id: str | None = Field(
        default=None, pattern=r"^[0-9]{1,32}$", description="WhatsApp Business phone number id (digits)"
    )
    pulse_whatsapp_graph_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://graph.facebook.com/v24.0"),
        description="Graph API base URL including the version",
    )

    _entry_url = field_validator("pulse_entry_url")(_check_entry_url)

    # -- entry page: `ingester web`, GET /praatmee and its counters (issue #10) ----------------
    pulse_web_port: int = Field(default=8080, ge=0, le=65535, description="Port of `ingester web`")
    pulse_web_host: str = Field(default="0.0.0.0", description="Address `ingester web` listens on")
    pulse_web_public_url: AnyHttpUrl | None = Field(
        default=None, description="Public base URL the service is reached at (e.g. https://praatmee.amsterdam.nl)"
    )
    pulse_web_channel: str | None = Field(
        default=None, description="Channel whose conversations the page shows (default PULSE_CHANNEL_NAME)"
    )
    pulse_web_title: str | None = Field(default=None, description="Name shown as the page title (default built in)")
    pulse_web_signup_url: AnyHttpUrl | None = Field(
        default=None, description="Where 'Account aanmaken' leads (default {MASTODON_BASE_URL}/auth/sign_up)"
    )
    pulse_web_about_nl: str | None = Field(default=None, description="'Who is behind it' paragraph, Dutch")
    pulse_web_about_en: str | None = Field(default=None, description="'Who is behind it' paragraph, English")
    pulse_web_cta_nl: str | None = Field(default=None, description="Call to action, Dutch")
    pulse_web_cta_en: str | None = Field(default=None, description="Call to action, English")
    pulse_web_formats: str = Field(
        default="qa,innovator_spotlight,city_question,other",
        description="Formats whose newest public post the page shows, the live one (first) on top",
    )
    pulse_web_live_hours: float = Field(default=24.0, gt=0, description="A post of the first format is live this long")
    pulse_web_replies: int = Field(default=3, ge=0, le=20, description="First replies shown under each post")
    pulse_web_cache_seconds: float = Field(
        default=5.0, gt=0, le=300, description="The store is read at most this often"
    )
    pulse_web_sources: str | None = Field(
        default=None, description="Known ?bron= codes, comma-separated; unset: any well-formed code, up to the cap"
    )
    pulse_web_source_cap: int = Field(default=200, ge=1, le=10_000, description="Distinct ?bron= codes counted per day")
    pulse_web_flush_seconds: float = Field(default=30.0, gt=0, le=3600, description="Counters written this often")
    pulse_web_lookup_seconds: float = Field(default=4.0, gt=0, le=30, description="Time limit of a WebFinger look-up")
    # -- front door: database tier, simulated data -------------------------------------------
    pulse_tier: Tier = Field(
        default="auto",
        description="auto: TimescaleDB when the server has it, else plain PostgreSQL; or choose explicitly",
    )
    pulse_accept_simulated_data: bool = Field(
        default=False,
        description="Let a real `run` write into a database that has received simulated data (not advised)",
    )
    pulse_simulator_rate: float = Field(
        default=2.0, gt=0, le=10_000, description="Actions per second of `run --simulate`'s simulated channel",
    )

    @field_validator("pulse_formats")
    @classmethod
    def _formats(cls, v: str | None) -> str | None:
        from ingester.formats import FormatMapError, parse_formats

        try:
            parse_formats(v)
        except FormatMapError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("pulse_hashtags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> list[str]:
        return _split_tags(v)

    @field_validator("pulse_channels", mode="before")
    @classmethod
    def _channels(cls, v: Any) -> Any:
        if isinstance(v, str):
            if not v.strip():
                return []
            try:
                return json.loads(v)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg})") from None
        return v

    _language = field_validator("pulse_language")(_check_language)
    _tz = field_validator("pulse_timezone")(_check_timezone)

    @field_validator("pulse_account_salt")
    @classmethod
    def _salt(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return v

    @field_validator("mastodon_base_url")
    @classmethod
    def _base_url(cls, v: AnyHttpUrl | None) -> AnyHttpUrl | None:
        return None if v is None else _server_url(v)

    # -- slices handed to the parts -------------------------------------------------------

    def channels(self) -> list[ChannelSettings]:
        out: list[ChannelSettings] = []
        if self.mastodon_base_url is not None or self.mastodon_access_token is not None:
            if self.mastodon_base_url is None:
                raise SettingsError(_NO_SERVER)
            if self.mastodon_access_token is None:
                raise SettingsError(_NO_TOKEN)
            try:
                out.append(
                    ChannelSettings(
                        name=self.pulse_channel_name,
                        base_url=self.mastodon_base_url,
                        access_token=self.mastodon_access_token,
                        hashtags=tuple(self.pulse_hashtags),
                    )
                )
            except ValidationError as exc:
                raise SettingsError(f"PULSE_CHANNEL_NAME: {exc.errors()[0]['msg']}") from None
        for ch in self.pulse_channels:
            tags = tuple(dict.fromkeys((*ch.hashtags, *self.pulse_hashtags)))
            out.append(ch.model_copy(update={"hashtags": tags}))
        if not out:
            raise SettingsError(_NO_CHANNEL)
        names = [c.name for c in out]
        if len(set(names)) != len(names):
            raise SettingsError(f"PULSE_CHANNELS: channel names must be unique, got {names}")
        return out

    def sink(self) -> SinkSettings:
        return SinkSettings(
            batch_size=self.pulse_batch_size, batch_max_age_ms=self.pulse_batch_max_age_ms
        )

    def retention(self) -> Any:
        from ingester.retention import RetentionSettings

        return RetentionSettings(
            text_days=self.pulse_text_retention_days,
            other_days=self.pulse_other_retention_days,
            dead_letter_days=self.pulse_dead_letter_retention_days,
            heartbeat_days=self.pulse_heartbeat_retention_days,
            every_seconds=self.pulse_retention_every_seconds,
        )

    def language(self) -> Language:
        return self.pulse_language  # type: ignore[return-value]  # validated by _language

    def report_delivery(self) -> DeliverySettings | None:
        """The weekly report's mail and schedule, or None when e-mail delivery is not configured."""
        from datetime import time

        from ingester.report.delivery import WEEKDAYS, DeliverySettings
        from ingester.report.mail import MailSettings

        if not self.pulse_smtp_host and not self.pulse_report_to:
            return None
        if not self.pulse_smtp_host:
            raise SettingsError("PULSE_SMTP_HOST: missing (PULSE_REPORT_TO is set)")
        if not self.pulse_report_to:
            raise SettingsError("PULSE_REPORT_TO: missing (PULSE_SMTP_HOST is set)")
        sender = self.pulse_report_from or self.pulse_smtp_user
        if not sender or "@" not in sender:
            raise SettingsError("PULSE_REPORT_FROM: missing (an e-mail address to send the report from)")
        if self.pulse_report_channel is not None:
            names = [c.name for c in self.channels()]
            if self.pulse_report_channel not in names:
                raise SettingsError(f"PULSE_REPORT_CHANNEL: not one of the configured channels ({', '.join(names)})")
        hour, minute = (int(x) for x in self.pulse_report_time.split(":"))
        return DeliverySettings(
            mail=MailSettings(
                host=self.pulse_smtp_host, port=self.pulse_smtp_port, user=self.pulse_smtp_user,
                password=self.pulse_smtp_password, starttls=self.pulse_smtp_starttls, sender=sender,
                recipients=tuple(self.pulse_report_to),
            ),
            weekday=WEEKDAYS.index(self.pulse_report_day), at=time(hour, minute),
            channel=self.pulse_report_channel, language=self.language(),
        )

    def keyword(self) -> KeywordSettings:
        """The PRAATMEE keyword endpoints' slice (`ingester.keyword.config.KeywordSettings`)."""
        from ingester.keyword.config import KeywordSettings

        return KeywordSettings(
            entry_url=str(self.pulse_entry_url) if self.pulse_entry_url else None,
            public_url=str(self.pulse_web_public_url) if self.pulse_web_public_url else None,
            twilio_auth_token=self.pulse_twilio_auth_token,
            whatsapp_verify_token=self.pulse_whatsapp_verify_token,
            whatsapp_app_secret=self.pulse_whatsapp_app_secret,
            whatsapp_access_token=self.pulse_whatsapp_access_token,
            whatsapp_phone_number_id=self.pulse_whatsapp_phone_number_id,
            whatsapp_graph_url=str(self.pulse_whatsapp_graph_url),
            language=self.language(),
        )

    def poster(self) -> PosterSettings:
        """The QR posters' slice (`ingester.qr.poster.PosterSettings`); SettingsError without PULSE_ENTRY_URL."""
        return _poster_settings(self.pulse_entry_url, self.language())
    def web(self) -> WebSettings:
        from ingester.web.config import WebSettings

        channel = self.pulse_web_channel or self.pulse_channel_name
        base = str(self.mastodon_base_url).rstrip("/") if self.mastodon_base_url else None
        signup = str(self.pulse_web_signup_url) if self.pulse_web_signup_url else (
            f"{base}/auth/sign_up" if base else None)
        try:
            return WebSettings(
                host=self.pulse_web_host, port=self.pulse_web_port,
                channel=channel, title=self.pulse_web_title, mastodon_base_url=base, signup_url=signup,
                about={"nl": self.pulse_web_about_nl, "en": self.pulse_web_about_en},
                cta={"nl": self.pulse_web_cta_nl, "en": self.pulse_web_cta_en},
                formats=tuple(f.strip().lower() for f in self.pulse_web_formats.split(",") if f.strip()),
                live_hours=self.pulse_web_live_hours, replies=self.pulse_web_replies,
                cache_seconds=self.pulse_web_cache_seconds,
                sources=tuple(c.strip().lower() for c in (self.pulse_web_sources or "").split(",") if c.strip()),
                source_cap=self.pulse_web_source_cap, flush_seconds=self.pulse_web_flush_seconds,
                lookup_seconds=self.pulse_web_lookup_seconds, timezone=self.pulse_timezone,
            )
        except ValidationError as exc:
            raise SettingsError(*(f"PULSE_WEB_{p}" for p in describe_errors(exc))) from None

    def simulating(self) -> bool:
        """No Mastodon server configured at all: the only case in which `--simulate` plays the simulator."""
        return self.mastodon_base_url is None and self.mastodon_access_token is None and not self.pulse_channels


def _describe_one(err: Any) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    var = loc[0].upper() if loc else "SETTINGS"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "missing":
        return f"{var}: missing (required)"
    detail = "".join(f"[{p}]" for p in loc[1:])
    # Never echo the offending value: it may be a secret.
    return f"{var}{detail}: {msg}"


def describe_errors(exc: ValidationError) -> list[str]:
    """Every problem of a validation, one line each, naming the variable and never the value."""
    return [_describe_one(err) for err in exc.errors(include_input=False, include_url=False)]


class _ChannelPresence(BaseSettings):
    """Which channel variables are set at all (raw text, unvalidated): lets a run that fails on another
    setting still say, in the same report, that the channel is incomplete."""

    model_config = _ENV

    mastodon_base_url: str | None = None
    mastodon_access_token: str | None = None
    pulse_channels: str | None = None


def _channel_presence_problems() -> list[str]:
    raw = _ChannelPresence()
    if raw.pulse_channels or (raw.mastodon_base_url and raw.mastodon_access_token):
        return []
    if raw.mastodon_base_url:
        return [_NO_TOKEN]
    if raw.mastodon_access_token:
        return [_NO_SERVER]
    return [_NO_CHANNEL]


def load_settings(*, require_channels: bool = False, **overrides: Any) -> Settings:
    """Build settings from the environment; raise `SettingsError` naming every problem at once (with
    `require_channels`, an incomplete channel too, even when another setting failed first)."""
    try:
        settings = read_settings(Settings, **overrides)
    except SettingsError as exc:
        if require_channels and not any(p.startswith(("MASTODON_", "PULSE_CHANNEL")) for p in exc.problems):
            raise SettingsError(*exc.problems, *_channel_presence_problems()) from None
        raise
    if require_channels:
        settings.channels()
    return settings


class DatabaseSettings(DatabaseUrlSettings):
    """What the commands that need only the database read (migrate, demo, grafana push)."""

    pulse_tier: Tier = "auto"
    pulse_timezone: str | None = None
    pulse_formats: str | None = None

    @field_validator("pulse_timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _check_timezone(v)


class _PosterOnly(BaseSettings):
    model_config = _ENV

    pulse_entry_url: AnyHttpUrl | None = None
    pulse_language: str = "nl"

    _entry = field_validator("pulse_entry_url")(_check_entry_url)
    _lang = field_validator("pulse_language")(_check_language)


class _WebOnly(Settings):
    """Settings without the secret the web service never needs (the account salt stays with the ingester)."""

    pulse_account_salt: SecretStr | None = None  # type: ignore[assignment]

    @field_validator("pulse_account_salt")
    @classmethod
    def _salt(cls, v: SecretStr | None) -> SecretStr | None:  # unused here: any value, or none
        return v


_S = TypeVar("_S", bound=BaseSettings)


def read_settings(cls: type[_S], **overrides: Any) -> _S:
    """Read `cls` from the environment; every problem becomes one line of a `SettingsError`."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise SettingsError(*describe_errors(exc)) from None


def database_settings(**overrides: Any) -> DatabaseSettings:
    return read_settings(DatabaseSettings, **overrides)


def database_url_only() -> str:
    """For commands that need only the database (export, report): read just DATABASE_URL."""
    return read_settings(DatabaseUrlSettings).dsn()


def _poster_settings(entry_url: AnyHttpUrl | None, language: Language) -> PosterSettings:
    from ingester.qr.poster import PosterSettings

    if entry_url is None:
        raise SettingsError(
            "PULSE_ENTRY_URL: missing — set it to the public link, e.g. https://www.amsterdam.nl/praatmee"
        )
    return PosterSettings(entry_url=str(entry_url), language=language)


def poster_only() -> PosterSettings:
    """For `ingester qr`, which needs no database: read just PULSE_ENTRY_URL and PULSE_LANGUAGE."""
    env = read_settings(_PosterOnly)
    return _poster_settings(env.pulse_entry_url, env.pulse_language)  # type: ignore[arg-type]


def load_web_settings(**overrides: Any) -> Settings:
    """For `ingester web`: the one settings object without the account salt; hand the web part `.web()`
    and the database `.dsn()`."""
    return read_settings(_WebOnly, **overrides)
