"""A TCP proxy on 127.0.0.1 for fault tests: put it in front of PostgreSQL or the simulator and cut
the line at will. Real sockets, no mocks: the client sees exactly what a dropped network or a
restarted server looks like (reset connections, refused handshakes).

    proxy = TcpProxy("127.0.0.1", 5432)
    port = await proxy.start()        # connect clients to 127.0.0.1:port
    proxy.cut()                       # outage: live connections reset, new ones closed at once
    proxy.restore()                   # back to normal; clients must reconnect
    await proxy.close()

`cut(mode="hang")` makes a silent outage instead (a pulled cable): bytes are swallowed in both
directions and new connections are accepted but never reach the target, so clients see timeouts,
not errors. `restore()` then resets the hung connections, as a peer that lost its state would.

While cut, the listening socket stays bound, so the port does not change and cannot be taken by
someone else between outages.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Literal

_CHUNK = 65536


@dataclass
class ProxyStats:
    accepted: int = 0  # connections forwarded to the target
    refused: int = 0  # connections closed (or hung) at once because the line was cut
    active: int = 0  # connections open right now
    cuts: int = 0
    bytes_up: int = 0  # client -> target
    bytes_down: int = 0  # target -> client


class _Link:
    """One client connection and, once made, its connection to the target."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.target: asyncio.StreamWriter | None = None
        self.hung = False

    def abort(self) -> None:
        # abort(), not close(): drop buffered data and send RST so the peer notices immediately.
        for writer in (self.client, self.target):
            if writer is not None:
                writer.transport.abort()


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.listen_host = listen_host
        self.stats = ProxyStats()
        self._server: asyncio.base_events.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._mode: Literal["open", "close", "hang"] = "open"
        self.port = 0

    @property
    def is_cut(self) -> bool:
        return self._mode != "open"

    async def start(self, port: int = 0) -> int:
        """Listen on `listen_host:port` (0 = any free port); return the port."""
        self._server = await asyncio.start_server(self._handle, self.listen_host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def cut(self, mode: Literal["close", "hang"] = "close") -> None:
        """Start an outage. `close`: reset every live connection and close new ones at once.
        `hang`: keep sockets open but forward nothing, so clients only see silence."""
        if mode not in ("close", "hang"):
            raise ValueError(f"cut mode must be 'close' or 'hang', not {mode!r}")
        self._mode = mode
        self.stats.cuts += 1
        for link in list(self._links):
            if mode == "close":
                link.abort()
            else:
                link.hung = True

    def restore(self) -> None:
        """End the outage. Hung connections are reset: their byte streams lost data, they cannot
        resume. New connections are forwarded again."""
        self._mode = "open"
        for link in list(self._links):
            if link.hung:
                link.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)
            self._server = None

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals ---------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        link = _Link(writer)
        self._links.add(link)
        self.stats.active += 1
        try:
            if self._mode == "close":
                self.stats.refused += 1
                return
            if self._mode == "hang":
                self.stats.refused += 1
                link.hung = True
                await self._swallow(reader)
                return
            try:
                t_reader, t_writer = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                self.stats.refused += 1
                return
            link.target = t_writer
            if self._mode != "open":  # cut while we were connecting
                return
            self.stats.accepted += 1
            await asyncio.gather(
                self._pump(reader, t_writer, link, up=True),
                self._pump(t_reader, writer, link, up=False),
            )
        finally:
            self._links.discard(link)
            self.stats.active -= 1
            link.abort()
            self._tasks.discard(task)

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: _Link, *, up: bool
    ) -> None:
        try:
            while True:
                data = await src.read(_CHUNK)
                if not data:
                    break
                if link.hung:
                    continue  # a silent outage: the bytes vanish
                if up:
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.bytes_down += len(data)
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            link.abort()  # one side broke: break the other too, as a dropped line would
            return
        # Clean end of one direction: pass the half-close on, the other direction may still flow.
        try:
            if dst.can_write_eof() and not dst.is_closing():
                dst.write_eof()
            else:
                link.abort()
        except (ConnectionError, OSError):
            link.abort()

    @staticmethod
    async def _swallow(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while await reader.read(_CHUNK):
                pass


__all__ = ["ProxyStats", "TcpProxy"]
