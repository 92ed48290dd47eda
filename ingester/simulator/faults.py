"""Fault injection: dropped and stalled sockets, refused reconnects, failing REST answers.

Every injected fault is counted in `counters` so a test can assert the client really met it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Protocol

REST_FAILURES = (429, 500, 502, 503, 504)


class Sockets(Protocol):
    def drop_all(self) -> int: ...
    def stall_all(self, until: float) -> int: ...


class Faults:
    def __init__(self, sockets: Sockets) -> None:
        self._sockets = sockets
        self.counters: Counter[str] = Counter()
        self._refuse_until = 0.0
        self._cut_upgrades = 0
        self._fail_status = 0
        self._fail_count = 0
        self._fail_until = 0.0
        self._drop_task: asyncio.Task[None] | None = None

    # -- streaming -----------------------------------------------------------------------

    def drop_all(self) -> int:
        """Cut every open WebSocket/SSE connection now (no close frame: the TCP connection dies)."""
        n = self._sockets.drop_all()
        self.counters["drops"] += 1
        self.counters["sockets_dropped"] += n
        return n

    def drop_every(self, seconds: float | None) -> None:
        """Drop all sockets every `seconds` (None or 0 stops it)."""
        if self._drop_task is not None:
            self._drop_task.cancel()
            self._drop_task = None
        if seconds:
            self._drop_task = asyncio.get_running_loop().create_task(self._drop_loop(seconds))

    async def _drop_loop(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.drop_all()

    def refuse_reconnects(self, seconds: float) -> None:
        """Answer streaming upgrades/SSE requests with 503 for `seconds` (events keep happening)."""
        self._refuse_until = time.monotonic() + seconds
        self.counters["refuse_windows"] += 1

    def refusing(self) -> bool:
        if time.monotonic() < self._refuse_until:
            self.counters["refused_connections"] += 1
            return True
        return False

    def cut_after_upgrade(self, count: int) -> None:
        """Accept the next `count` streaming upgrades, then cut each socket at once, before any
        subscription can arrive (a proxy or load balancer dropping fresh connections)."""
        self._cut_upgrades = count

    def take_upgrade_cut(self) -> bool:
        if self._cut_upgrades > 0:
            self._cut_upgrades -= 1
            self.counters["cut_after_upgrade"] += 1
            return True
        return False

    def stall(self, seconds: float) -> int:
        """Keep every open socket open but send nothing (no frames, no pings, no pongs) for `seconds`.

        Frames published meanwhile are lost for those sockets, like on a dead TCP path.
        """
        n = self._sockets.stall_all(time.monotonic() + seconds)
        self.counters["stalls"] += 1
        self.counters["sockets_stalled"] += n
        return n

    # -- REST ----------------------------------------------------------------------------

    def fail_rest(self, status: int = 503, *, count: int | None = None, seconds: float | None = None) -> None:
        """Answer the next `count` REST requests, or all for `seconds`, with `status` (429 or 5xx)."""
        if status not in REST_FAILURES:
            raise ValueError(f"status must be one of {REST_FAILURES}")
        if count is None and seconds is None:
            count = 1
        self._fail_status = status
        self._fail_count = count or 0
        self._fail_until = time.monotonic() + seconds if seconds else 0.0

    def take_rest_failure(self) -> int | None:
        """Called once per REST request: the status to fail it with, or None."""
        if self._fail_count > 0:
            self._fail_count -= 1
        elif time.monotonic() >= self._fail_until:
            return None
        self.counters[f"rest_{self._fail_status}"] += 1
        return self._fail_status

    def clear(self) -> None:
        self._refuse_until = self._fail_until = 0.0
        self._fail_count = self._cut_upgrades = 0
        self.drop_every(None)

    async def close(self) -> None:
        if self._drop_task is not None:
            self._drop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drop_task
            self._drop_task = None

    def snapshot(self) -> dict[str, int]:
        return dict(self.counters)
