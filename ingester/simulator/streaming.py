"""The streaming host: multiplexed WebSocket and SSE, as mastodon/mastodon `streaming/index.js`.

WebSocket: auth on upgrade (bare 401 + X-Error-Message), optional first subscription from the
query, then `subscribe`/`unsubscribe` text messages with no acknowledgement; frames are
`{"stream":[...],"event":...,"payload":"<json text or bare id>"}`; pings every N seconds and a
socket that missed the previous pong is terminated. Nothing is queued for absent clients and
subscriptions are never restored: every socket starts empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from ingester.simulator.auth import Grant, bearer
from ingester.simulator.faults import Faults
from ingester.simulator.render import dumps
from ingester.simulator.world import Route

BINARY_CLOSE = b"The mastodon streaming server does not support binary messages"
SSE_PATHS = {
    "user": "user", "user/notification": "user:notification", "public": "public",
    "public/local": "public:local", "public/remote": "public:remote", "hashtag": "hashtag",
    "hashtag/local": "hashtag:local", "list": "list", "direct": "direct",
    "public/media": "public:media", "public/local/media": "public:local:media",
    "public/remote/media": "public:remote:media",
}
KNOWN_STREAMS = set(SSE_PATHS.values())


class StreamError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def normalize_tag(tag: str) -> str:
    """utils.js normalizeHashtag: NFKC, lower-case, ASCII folding, non-word characters removed."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", tag).lower())
    return re.sub(r"\W", "", "".join(c for c in folded if not unicodedata.combining(c)))


def resolve(grant: Grant, stream: str, params: dict[str, str]) -> tuple[Route, list[str]]:
    """A stream name + params -> (route the world publishes on, the `stream` array frames echo)."""
    if stream not in KNOWN_STREAMS:
        raise StreamError("Unknown stream type", 400)
    if stream in ("user", "direct", "list") and not grant.allows("read:statuses"):
        raise StreamError("Access token does not have the required scopes", 401)
    if stream == "user:notification" and not grant.allows("read:notifications"):
        raise StreamError("Access token does not have the required scopes", 401)
    if stream in ("hashtag", "hashtag:local"):
        tag = params.get("tag") or ""
        if not tag:
            raise StreamError("Missing tag name parameter", 400)
        return (stream, normalize_tag(tag)), [stream, tag]
    if stream == "list":
        if not params.get("list"):
            raise StreamError("Missing list name parameter", 400)
        raise StreamError("Not authorized to stream this list", 401)  # the simulator has no lists
    if stream in ("user", "user:notification", "direct"):
        return (stream, grant.account_id), [stream]
    return (stream,), [stream]


@dataclass(eq=False)
class Connection:
    grant: Grant
    transport: asyncio.BaseTransport | None
    sse: bool = False
    subscriptions: dict[Route, list[str]] = field(default_factory=dict)
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    stalled_until: float = 0.0

    def stalled(self) -> bool:
        return time.monotonic() < self.stalled_until

    def deliver(self, route: Route, event: str, payload: str | None) -> None:
        stream = self.subscriptions.get(route)
        if stream is None or self.stalled():
            return
        if event == "notification" and route[0] == "user" and not self.grant.allows("read:notifications"):
            return
        if self.sse:
            self.queue.put_nowait(f"event: {event}\ndata: {'undefined' if payload is None else payload}\n\n")
        else:
            frame: dict[str, object] = {"stream": stream, "event": event}
            if payload is not None:
                frame["payload"] = payload
            self.queue.put_nowait(dumps(frame))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class Hub:
    """Every open streaming connection; `publish` is what the world calls."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.frames_sent = 0

    def publish(self, route: Route, event: str, payload: str | None) -> None:
        for conn in list(self.connections):
            conn.deliver(route, event, payload)

    def drop_all(self) -> int:
        conns = list(self.connections)
        for conn in conns:
            conn.abort()
        return len(conns)

    def stall_all(self, until: float) -> int:
        for conn in self.connections:
            conn.stalled_until = until
        return len(self.connections)


class StreamingHost:
    def __init__(
        self, hub: Hub, faults: Faults, grants: Callable[[str], Grant | None],
        ping_interval: float, sse_heartbeat: float,
    ) -> None:
        self.hub, self.faults, self._grants = hub, faults, grants
        self.ping_interval, self.sse_heartbeat = ping_interval, sse_heartbeat

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if path == "/api/v1/streaming/health":
            return web.Response(text="OK", content_type="text/plain",
                                headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "private, no-store"})
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.websocket(request)  # the Node server ignores the path on upgrade
        return await self.sse(request, path.removeprefix("/api/v1/streaming").strip("/"))

    def _token(self, request: web.Request) -> tuple[str | None, bool]:
        token = bearer(request) or request.query.get("access_token")
        if token:
            return token, False
        proto = request.headers.get("Sec-WebSocket-Protocol", "").split(",")[0].strip()
        return (proto or None), bool(proto)

    # -- WebSocket -----------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refusing():
            return web.Response(status=503, text="Service Unavailable", content_type="text/plain")
        token, via_protocol = self._token(request)
        grant = self._grants(token) if token else None
        if grant is None:
            msg = "Invalid access token" if token else "Missing access token"
            return web.Response(status=401, body=b"", content_type="text/plain",
                                headers={"X-Error-Message": msg, "Connection": "close"})
        ws = web.WebSocketResponse(protocols=(token,) if via_protocol and token else (), autoping=False)
        await ws.prepare(request)
        if self.faults.take_upgrade_cut() and request.transport is not None:
            request.transport.abort()  # no close frame: the TCP connection dies right after the 101
            return ws
        conn = Connection(grant=grant, transport=request.transport)
        self.hub.connections.add(conn)
        if "stream" in request.query:
            await self._subscribe(ws, conn, dict(request.query))
        pong = asyncio.Event()
        pong.set()
        tasks = [asyncio.create_task(self._ws_writer(ws, conn)), asyncio.create_task(self._ws_pinger(ws, conn, pong))]
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(ws, conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.close(code=1003, message=BINARY_CLOSE)
                elif msg.type == WSMsgType.PING and not conn.stalled():
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    pong.set()
        finally:
            self.hub.connections.discard(conn)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
        return ws

    async def _on_text(self, ws: web.WebSocketResponse, conn: Connection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            return  # unparsable JSON is ignored
        if not isinstance(msg, dict) or not isinstance(msg.get("stream"), str):
            return
        params = {k: str(v) for k, v in msg.items() if isinstance(v, (str, int))}
        if msg.get("type") == "subscribe":
            await self._subscribe(ws, conn, params)
        elif msg.get("type") == "unsubscribe":
            try:
                route, _ = resolve(conn.grant, msg["stream"], params)
            except StreamError:
                await ws.send_str(dumps({"error": "Error unsubscribing from channel"}))
                return
            conn.subscriptions.pop(route, None)

    async def _subscribe(self, ws: web.WebSocketResponse, conn: Connection, params: dict[str, str]) -> None:
        try:
            route, stream = resolve(conn.grant, params.get("stream", ""), params)
        except StreamError as exc:
            await ws.send_str(dumps({"error": str(exc), "status": exc.status}))
            return
        conn.subscriptions.setdefault(route, stream)  # a repeated subscribe is dropped silently

    async def _ws_writer(self, ws: web.WebSocketResponse, conn: Connection) -> None:
        while True:
            frame = await conn.queue.get()
            await ws.send_str(frame)
            self.hub.frames_sent += 1

    async def _ws_pinger(self, ws: web.WebSocketResponse, conn: Connection, pong: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            if conn.stalled():
                continue
            if not pong.is_set():  # missed the previous pong: terminate, as index.js does
                conn.abort()
                return
            pong.clear()
            await ws.ping()

    # -- SSE -----------------------------------------------------------------------------

    async def sse(self, request: web.Request, sub: str) -> web.StreamResponse:
        stream = SSE_PATHS.get(sub)
        if stream is None:  # checked before authentication, as index.js does
            return web.json_response({"error": "Unknown channel requested"}, status=400)
        if self.faults.refusing():
            return web.Response(status=503, text="Service Unavailable", content_type="text/plain")
        token, _ = self._token(request)
        grant = self._grants(token) if token else None
        if grant is None:
            msg = "Invalid access token" if token else "Missing access token"
            return web.json_response({"error": msg}, status=401)
        try:
            route, array = resolve(grant, stream, dict(request.query))
        except StreamError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        resp = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "private, no-store",
            "Access-Control-Allow-Origin": "*",
        })
        await resp.prepare(request)
        conn = Connection(grant=grant, transport=request.transport, sse=True, subscriptions={route: array})
        self.hub.connections.add(conn)
        try:
            await resp.write(b":)\n")
            while True:
                try:
                    chunk = await asyncio.wait_for(conn.queue.get(), timeout=self.sse_heartbeat)
                except asyncio.TimeoutError:
                    if conn.stalled():
                        continue
                    chunk = ":thump\n"
                await resp.write(chunk.encode())
                self.hub.frames_sent += 1
        except ConnectionError:
            pass  # the client went away
        finally:
            self.hub.connections.discard(conn)
        return resp
