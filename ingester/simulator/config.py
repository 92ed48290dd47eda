"""Configuration of a simulated server: channels (city accounts), tokens, rate limits, timing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEV_TOKEN = "dev-token-praatmee-pulse-simulator"
ALL_SCOPES: tuple[str, ...] = ("read",)


class ChannelSpec(BaseModel):
    """A city account on the simulated server. `name` is the channel name the ingester records."""

    model_config = ConfigDict(frozen=True)

    name: str = "main"
    username: str = "gemeenteamsterdam"
    display_name: str = "Gemeente Amsterdam"
    token: str = DEV_TOKEN
    scopes: tuple[str, ...] = ALL_SCOPES


class TokenSpec(BaseModel):
    """An extra access token of a channel account (e.g. one lacking a scope, for 403 tests)."""

    model_config = ConfigDict(frozen=True)

    token: str
    channel: str  # ChannelSpec.name of the account the token belongs to
    scopes: tuple[str, ...] = ALL_SCOPES


class RateLimits(BaseModel):
    """Fixed-window throttles, per token (defaults as upstream rack_attack.rb)."""

    model_config = ConfigDict(frozen=True)

    api_limit: int = Field(default=300, ge=1)
    api_period: float = Field(default=300.0, gt=0)
    paging_limit: int = Field(default=300, ge=1)  # requests with max_id / min_id / since_id
    paging_period: float = Field(default=900.0, gt=0)


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = 0  # 0 = ephemeral
    streaming_port: int = 0
    channels: tuple[ChannelSpec, ...] = (ChannelSpec(),)
    extra_tokens: tuple[TokenSpec, ...] = ()
    rate_limits: RateLimits = RateLimits()
    ping_interval: float = Field(default=30.0, gt=0)  # WebSocket ping (real: 30 s)
    sse_heartbeat: float = Field(default=15.0, gt=0)  # SSE `:thump` (real: 15 s)
    residents: int = Field(default=40, ge=2)  # size of the resident account pool
    remote_share: float = Field(default=0.3, ge=0, le=1)  # residents on other servers
    seed: int = 1  # for the account pool; scenarios carry their own seed
