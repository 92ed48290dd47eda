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
from typing import Annotated, Any, Literal
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

Tier = Literal["auto", "timescaledb", "postgres"]  # PULSE_TIER
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SettingsError(Exception):
    """One or more settings are missing or invalid; every problem is one line naming its variable.

    All problems are reported at once, one line each. `str()` joins them so that the usual
    `print(f"ingester: {exc}")` prints every line with the `ingester: ` prefix.
    """

    def __init__(self, *problems: str) -> None:
        self.problems: tuple[str, ...] = tuple(dict.fromkeys(problems)) or ("SETTINGS: invalid",)
        super().__init__("\ningester: ".join(self.problems))

    def lines(self) -> list[str]:
        return [f"ingester: {p}" for p in self.problems]


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


class SinkSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    batch_size: int = 500
    batch_max_age_ms: int = 200


class Settings(BaseSettings):
    """Every variable the service reads. Names are the environment variable names."""

    # Empty values mean unset: compose passes `${MASTODON_ACCESS_TOKEN:-}` as "" when it is not set.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    database_url: SecretStr = Field(description="PostgreSQL/TimescaleDB URL for the ingester")
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

    # -- front door: database tier, simulated data -------------------------------------------
    pulse_tier: Tier = Field(
        default="auto",
        description="auto: TimescaleDB when the server has it, else plain PostgreSQL; or choose explicitly",
    )
    pulse_accept_simulated_data: bool = Field(
        default=False,
        description="Let a real `run` write into a database that has received simulated data (not advised)",
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

    @field_validator("pulse_language")
    @classmethod
    def _language(cls, v: str) -> str:
        from ingester.i18n import parse_language

        return parse_language(v)

    @field_validator("pulse_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}") from None
        return v

    @field_validator("pulse_account_salt")
    @classmethod
    def _salt(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return v

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, v: SecretStr) -> SecretStr:
        from ingester.dsn import dsn_problem

        problem = dsn_problem(v.get_secret_value())
        if problem:
            raise ValueError(problem)
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
                raise SettingsError("MASTODON_BASE_URL: missing (MASTODON_ACCESS_TOKEN is set) — set the server's URL")
            if self.mastodon_access_token is None:
                raise SettingsError(
                    "MASTODON_ACCESS_TOKEN: missing (MASTODON_BASE_URL is set) — set the channel's token, "
                    "or unset MASTODON_BASE_URL to play the simulator with --simulate"
                )
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
            raise SettingsError(
                "MASTODON_ACCESS_TOKEN: missing — set MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN, or PULSE_CHANNELS"
            )
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

    def simulating(self) -> bool:
        """No Mastodon server configured at all: the only case in which `--simulate` plays the simulator."""
        return self.mastodon_base_url is None and self.mastodon_access_token is None and not self.pulse_channels

    def dsn(self) -> str:
        return self.database_url.get_secret_value()


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


def _describe(exc: ValidationError) -> str:
    return describe_errors(exc)[0]


class _ChannelPresence(BaseSettings):
    """Which channel variables are set at all (raw text, unvalidated): lets a run that fails on another
    setting still say, in the same report, that the channel is incomplete."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True)
    mastodon_base_url: str | None = None
    mastodon_access_token: str | None = None
    pulse_channels: str | None = None


def _channel_presence_problems() -> list[str]:
    raw = _ChannelPresence()
    if raw.pulse_channels:
        return []
    if raw.mastodon_base_url and not raw.mastodon_access_token:
        return ["MASTODON_ACCESS_TOKEN: missing (MASTODON_BASE_URL is set) — set the channel's token"]
    if raw.mastodon_access_token and not raw.mastodon_base_url:
        return ["MASTODON_BASE_URL: missing (MASTODON_ACCESS_TOKEN is set) — set the server's URL"]
    if not raw.mastodon_base_url and not raw.mastodon_access_token:
        return ["MASTODON_ACCESS_TOKEN: missing — set MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN, or PULSE_CHANNELS"]
    return []


def load_settings(*, require_channels: bool = False, **overrides: Any) -> Settings:
    """Build settings from the environment; raise `SettingsError` naming every problem at once."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = describe_errors(exc)
        if require_channels and not any(p.startswith(("MASTODON_", "PULSE_CHANNEL")) for p in problems):
            problems += _channel_presence_problems()
        raise SettingsError(*problems) from None
    if require_channels:
        settings.channels()
    return settings


class DatabaseSettings(BaseSettings):
    """What the commands that need only the database read (migrate, export, demo)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True)
    database_url: SecretStr
    pulse_tier: Tier = "auto"
    pulse_timezone: str | None = None
    pulse_formats: str | None = None

    @field_validator("database_url")
    @classmethod
    def _dsn(cls, v: SecretStr) -> SecretStr:
        return Settings._dsn(v)  # type: ignore[operator]  # the same rule as the service's

    @field_validator("pulse_timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else Settings._tz(v)  # type: ignore[operator]

    def dsn(self) -> str:
        return self.database_url.get_secret_value()


def database_settings(**overrides: Any) -> DatabaseSettings:
    try:
        return DatabaseSettings(**overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(*describe_errors(exc)) from None


def database_url_only() -> str:
    """For commands that need only the database (migrate, export): read just DATABASE_URL."""
    return database_settings().dsn()
