"""The streaming shell: one WebSocket per channel; it only loops (connect, subscribe, feed, reconnect).

Facts from the real server (shared/mastodon/PROTOCOL.md) that shape this loop:
- the token goes in the `Authorization: Bearer` header, never in the URL (URLs end up in logs);
- subscriptions are never acknowledged and are not restored after a reconnect: send them every time;
- a rejected upgrade (HTTP 401 + `X-Error-Message`) means the token is bad: fatal, not retryable;
- there is no replay, so after every (re)connect the owner runs a REST catch-up (`on_connected`);
- the server pings every 30 s; if neither a frame nor a ping arrives for `idle_timeout`, the socket is
  presumed dead (a stream can stay open and deliver nothing) and we reconnect.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
import websockets
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

log = structlog.get_logger("ingester.stream")


class Backpressure(Exception):
    """Raised by `on_text` when nothing more can be queued: the socket is closed until `ready()`."""


class StreamFatal(Exception):
    """The streaming server refuses the token: a reconnect cannot help. `str()` is one line."""


@dataclass(frozen=True)
class StreamConfig:
    streaming_url: str  # ws(s)://host[:port] as announced by the instance, without path
    token: SecretStr
    hashtags: tuple[str, ...] = ()
    idle_timeout: float = 90.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    open_timeout: float = 10.0

    def endpoint(self) -> str:
        base = self.streaming_url.rstrip("/")
        if base.startswith("https://"):
            base = "wss://" + base.removeprefix("https://")
        elif base.startswith("http://"):
            base = "ws://" + base.removeprefix("http://")
        return f"{base}/api/v1/streaming"


def subscriptions(hashtags: tuple[str, ...]) -> list[str]:
    """The subscribe messages to (re)send on every new socket."""
    msgs = [json.dumps({"type": "subscribe", "stream": "user"})]
    msgs += [json.dumps({"type": "subscribe", "stream": "hashtag", "tag": t}) for t in hashtags]
    return msgs


class _Liveness:
    """Shared 'last sign of life' clock, updated on every frame, ping or pong the socket receives."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def touch(self) -> None:
        self.last = time.monotonic()


def _connection_class(liveness: _Liveness) -> type[ClientConnection]:
    class _Conn(ClientConnection):
        # Server pings are answered inside websockets and never reach recv(); they still prove the
        # socket is alive, so note every incoming frame here.
        def process_event(self, event: Any) -> None:
            liveness.touch()
            super().process_event(event)

    return _Conn


OnText = Callable[[str, float], Awaitable[None]]
OnConnected = Callable[[], None]


class StreamSource:
    """Feeds every text frame to `on_text(text, received_monotonic)`; calls `on_connected()` (a trigger,
    not awaited) after each (re)subscription so the owner can catch up over REST."""

    def __init__(
        self,
        config: StreamConfig,
        on_text: OnText,
        on_connected: OnConnected,
        *,
        on_disconnected: Callable[[str], None] | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._ready = ready
        self.config = config
        self._on_text = on_text
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.connected = False
        self.reconnects = 0
        self.connects = 0
        self.last_frame_wall: float | None = None
        self._liveness = _Liveness()

    async def run(self) -> None:
        """Connect forever with jittered exponential backoff; raise StreamFatal on a rejected token."""
        backoff = self.config.backoff_initial
        while True:
            if self._ready is not None:
                await self._ready()
            connects = self.connects
            reason = await self._session()
            self.connected = False
            if self._on_disconnected:
                self._on_disconnected(reason)
            if self.connects > connects:
                # The server accepted us before the drop: the backoff is for consecutive failures only.
                backoff = self.config.backoff_initial
            delay = random.uniform(0, backoff)  # full jitter: reconnect storms spread out
            log.info("stream disconnected, reconnecting", reason=reason, delay_s=round(delay, 2))
            await asyncio.sleep(delay)
            backoff = min(self.config.backoff_max, backoff * 2)
            self.reconnects += 1

    async def _session(self) -> str:
        cfg = self.config
        try:
            ws = await websockets.connect(
                cfg.endpoint(),
                additional_headers={"Authorization": f"Bearer {cfg.token.get_secret_value()}"},
                open_timeout=cfg.open_timeout,
                ping_interval=None,  # the server pings us; our idle watchdog covers silent sockets
                max_size=4 * 1024 * 1024,
                create_connection=_connection_class(self._liveness),
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            message = exc.response.headers.get("X-Error-Message", "")
            if status in (401, 403):
                raise StreamFatal(
                    f"MASTODON_ACCESS_TOKEN: streaming server refused the token ({status} {message or 'Unauthorized'})"
                ) from None
            return f"upgrade rejected with HTTP {status}"
        except (OSError, asyncio.TimeoutError, InvalidHandshake) as exc:
            return f"connect failed: {type(exc).__name__}: {exc}"[:200]
        async with ws:
            self.connects += 1
            self._liveness.touch()
            try:
                for msg in subscriptions(cfg.hashtags):
                    await ws.send(msg)
            except ConnectionClosed as exc:  # cut between the upgrade and our subscriptions: just a drop
                return f"closed while subscribing ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
            self.connected = True
            log.info("stream connected", url=cfg.endpoint(), hashtags=list(cfg.hashtags))
            self._on_connected()  # subscribed first, then catch up: nothing falls between the two
            return await self._read(ws)

    async def _read(self, ws: ClientConnection) -> str:
        idle = self.config.idle_timeout
        while True:
            remaining = idle - (time.monotonic() - self._liveness.last)
            if remaining <= 0:
                await ws.close(code=1000, reason="idle")
                return f"no frame or ping for {idle:.0f}s"
            try:
                # asyncio.timeout, not wait_for: no extra task per frame on the hot path
                async with asyncio.timeout(min(remaining, 5.0)):
                    data = await ws.recv()
            except TimeoutError:
                continue
            except ConnectionClosed as exc:
                return f"closed by server ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
            if isinstance(data, bytes):  # the real server never sends binary; keep it aside as text
                data = data.decode("utf-8", errors="replace")
            self.last_frame_wall = time.time()
            try:
                await self._on_text(data, time.monotonic())
            except Backpressure as exc:
                await ws.close(code=1000, reason="back-pressure")
                return f"stopped reading: {exc}"
