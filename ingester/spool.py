"""A FIFO for the batcher that outlives a database outage: memory first, then an on-disk spool.

While the database is down the batcher cannot drain, so items pile up. The first `memory_items` wait in
memory; after that, items are appended to a file (one JSON line each) until `disk_bytes` is reached;
then `put` waits, and the owner stops reading the stream (REST catch-up from the durable cursor fills
the gap later). Order is strict FIFO across memory and disk: once anything is on disk, newer items go
to disk too, and they are read back in order when the database returns.

The file survives a crash: a restart replays it first (rows are idempotent, cursors only move forward).
Barriers (flush/close futures) cannot be written to disk; they are held in memory beside their
position in the file.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path
from typing import Any

import structlog
from pydantic import TypeAdapter

from ingester.events import Event
from ingester.sink import CursorMark

log = structlog.get_logger(__name__)
_EVENT = TypeAdapter(Event)

Entry = tuple[Any, float]  # (item, received monotonic time)


def encode(item: Any) -> bytes:
    if isinstance(item, CursorMark):
        doc: dict[str, Any] = {"cursor": asdict(item)}
    else:
        doc = {"event": json.loads(_EVENT.dump_json(item))}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Any:
    doc = json.loads(line)
    if "cursor" in doc:
        return CursorMark(**doc["cursor"])
    return _EVENT.validate_python(doc["event"])


class Spool:
    """The batcher's queue: `put`, `get`, `get_nowait`, `qsize` as asyncio.Queue, plus `saturated()`."""

    def __init__(self, memory_items: int, *, path: Path | None = None, disk_bytes: int = 256 * 2**20) -> None:
        self.memory_items = memory_items
        self.path = path
        self.disk_bytes = disk_bytes if path is not None else 0
        self._mem: deque[Entry] = deque()
        self._disk_count = 0  # items in the file not yet read back
        self._read_offset = 0
        self._write_offset = 0
        self._held: dict[int, deque[Entry]] = {}  # barriers, keyed by the number of file items before them
        self._written = 0  # items ever appended to the file (for barrier positions)
        self._read = 0  # items ever read back from the file
        self._changed = asyncio.Condition()
        self._waiting_producers = 0
        self.replayed = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size > 0:
                self._recover()

    # -- state ---------------------------------------------------------------------------------------

    def qsize(self) -> int:
        return len(self._mem) + self._disk_count + sum(len(b) for b in self._held.values())

    def disk_items(self) -> int:
        return self._disk_count

    def saturated(self) -> bool:
        """No room left anywhere: the owner should stop reading and rely on REST catch-up."""
        return len(self._mem) >= self.memory_items and (
            self.path is None or self._write_offset >= self.disk_bytes
        )

    # -- producer ------------------------------------------------------------------------------------

    async def put(self, entry: Entry) -> None:
        async with self._changed:
            if self.saturated() and not _is_barrier(entry[0]):
                self._waiting_producers += 1
                try:
                    await self._changed.wait_for(lambda: not self.saturated())
                finally:
                    self._waiting_producers -= 1
            self._put(entry)
            self._changed.notify_all()

    def _put(self, entry: Entry) -> None:
        item = entry[0]
        spilling = self._disk_count > 0 or len(self._mem) >= self.memory_items
        if not spilling or self.path is None:
            self._mem.append(entry)
        elif _is_barrier(item):
            # released once every file item before it has been read
            self._held.setdefault(self._written, deque()).append(entry)
        else:
            self._append(entry)

    def _append(self, entry: Entry) -> None:
        assert self.path is not None
        data = encode(entry[0])
        with self.path.open("ab") as f:
            f.write(data)
        self._write_offset += len(data)
        self._disk_count += 1
        self._written += 1
        if self._disk_count == 1:
            log.warning("database slow or down: spooling to disk", path=str(self.path))

    def persist(self) -> int:
        """At shutdown with the database still down: write what waits in memory to the file, ahead of
        what is already there, so the next run replays it. Returns the items now on disk."""
        if self.path is None:
            return 0
        pending = b""
        if self._disk_count:
            with self.path.open("rb") as f:
                f.seek(self._read_offset)
                pending = f.read()
        head = b"".join(encode(item) for item, _ in self._mem if not _is_barrier(item))
        self.path.write_bytes(head + pending)
        self._mem.clear()
        self._read_offset, self._write_offset = 0, len(head) + len(pending)
        self._disk_count = (head + pending).count(b"\n")
        return self._disk_count

    # -- consumer ------------------------------------------------------------------------------------

    def get_nowait(self) -> Entry:
        if self._mem:
            entry = self._mem.popleft()
        elif self._read in self._held:
            held = self._held[self._read]
            entry = held.popleft()
            if not held:
                del self._held[self._read]
        elif self._disk_count:
            entry = self._read_one()
        else:
            raise asyncio.QueueEmpty
        if self._waiting_producers:
            self._wake()
        return entry

    async def get(self) -> Entry:
        async with self._changed:
            await self._changed.wait_for(lambda: self.qsize() > 0)
            return self.get_nowait()

    def _wake(self) -> None:
        # get_nowait is sync; wake producers waiting for room without holding the lock here.
        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        try:
            asyncio.get_running_loop().create_task(notify())
        except RuntimeError:
            pass

    def _read_one(self) -> Entry:
        assert self.path is not None
        with self.path.open("rb") as f:
            f.seek(self._read_offset)
            line = f.readline()
        self._read_offset += len(line)
        self._disk_count -= 1
        self._read += 1
        if self._disk_count == 0:
            self._reset_file()
        return decode(line), time.monotonic()

    def _reset_file(self) -> None:
        assert self.path is not None
        with self.path.open("wb"):
            pass
        self._read_offset = self._write_offset = 0
        # Barriers held at the end of the file are next in line.
        log.info("disk spool drained")

    def _recover(self) -> None:
        assert self.path is not None
        lines = self.path.read_bytes().splitlines(keepends=True)
        good = [ln for ln in lines if ln.endswith(b"\n")]  # a torn last line was never acknowledged
        self.path.write_bytes(b"".join(good))
        self._write_offset = sum(len(ln) for ln in good)
        self._disk_count = self.replayed = self._written = len(good)
        log.warning("replaying the disk spool left by the previous run", items=len(good))


def _is_barrier(item: Any) -> bool:
    # The batcher's flush/close markers hold futures; they never go to disk.
    return type(item).__name__ == "_Barrier"


__all__ = ["Spool", "decode", "encode"]
