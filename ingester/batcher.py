"""Batch policy in front of the sink: collect items in arrival order, write by size or age.

One consumer task (`run`) drains a bounded queue, so producers feel back-pressure instead of
growing memory when the database is slow. Items stay in order end to end: a `CursorMark` is written
in the same transaction as the events put before it (or a later one), never before them. A failed
write is retried with capped exponential backoff and jitter until it commits; the batch is never
dropped or reordered (`_commit` is the one place a disk spool can hook in later). Only a batch the
database refuses for its content (bad value, not a lost connection) is split to find the one event
at fault, which is then stored as a dead letter.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol, Sequence

import asyncpg
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_never,
    wait_random_exponential,
)

from ingester.events import DeadLetter, EditEvent, Source
from ingester.sink import AnyEvent, CursorMark, Staged, WriteResult

log = structlog.get_logger(__name__)

# Errors worth retrying: the database went away, refused us, timed out, or aborted the transaction.
RETRYABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    asyncio.TimeoutError,
)
# Errors about the batch's content rather than the database's state: retrying cannot help.
# (data exception, integrity violation, program limit such as an oversized index row, and values
# asyncpg cannot encode). Not included: missing tables or privileges, which an operator can fix.
REJECTED: tuple[type[BaseException], ...] = (
    asyncpg.DataError,  # SQLSTATE class 22, from the server
    asyncpg.exceptions._base.DataError,  # raised by asyncpg itself while encoding a value
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)
MAX_REJECTED_PAYLOAD = 64 * 1024
RESERVOIR_SIZE = 8192


class Writer(Protocol):
    """Writes one batch in one transaction. A writer may also offer `stage(events) -> Staged | None`,
    `discard(staged)` and `write(..., staged=)` (as `ingester.sink.Sink` does): the batcher then stages
    the next batch while the one before it commits. Without them, batches are written one by one."""

    async def write(self, events: Sequence[AnyEvent], cursors: Sequence[CursorMark] = ()) -> WriteResult: ...


class ItemQueue(Protocol):
    """Where put items wait for the consumer: asyncio.Queue, or ingester.spool.Spool (memory, then
    disk while the database is down). Entries are (item, monotonic time received)."""

    async def put(self, entry: tuple[Any, float]) -> None: ...
    async def get(self) -> tuple[Any, float]: ...
    def get_nowait(self) -> tuple[Any, float]: ...
    def qsize(self) -> int: ...


class WriteObserver(Protocol):
    """Told about every commit and every failed attempt (ingester.observability.Metrics fits)."""

    def db_write_ok(self) -> None: ...
    def db_write_failed(self) -> None: ...


@dataclass(frozen=True)
class WriteTotals:
    """Counters since start (for metrics and the shutdown summary)."""

    batches: int = 0
    items: int = 0  # events and cursor marks committed
    rows: WriteResult = field(default_factory=WriteResult)
    retries: int = 0
    rejected: int = 0  # events the database refused for their content, stored as dead letters
    last_commit_at: datetime | None = None
    last_error: str | None = None


@dataclass
class _Barrier:
    done: asyncio.Future[None]
    stop: bool = False


class Batcher:
    """Queue -> batches -> `sink.write`, one batch at a time, in order. Start `run()` as a task."""

    def __init__(
        self,
        sink: Writer,
        *,
        batch_size: int = 500,
        max_age: float = 0.2,
        queue_size: int | None = None,
        retry_max_wait: float = 10.0,
        write_timeout: float = 120.0,
        observer: WriteObserver | None = None,
        queue: ItemQueue | None = None,
    ) -> None:
        if batch_size < 1 or max_age <= 0:
            raise ValueError("batch_size must be >= 1 and max_age > 0")
        self._sink = sink
        self.batch_size = batch_size
        self.max_age = max_age
        # Bounded: a slow database makes producers wait (back-pressure) instead of growing memory.
        self._queue: ItemQueue = queue if queue is not None else asyncio.Queue(queue_size or batch_size * 4)
        self._retry_max_wait = retry_max_wait
        self._write_timeout = write_timeout
        self._observer = observer
        self._totals = WriteTotals()
        self._running = False
        self._stopped = False
        # Reservoir sample (algorithm R) of put->commit latencies in seconds, for p50/p99.
        self._latencies: list[float] = []
        self._seen = 0

    # -- producer side ----------------------------------------------------------------------------

    async def put(self, item: AnyEvent | CursorMark, *, received: float | None = None) -> None:
        """Queue one item; waits while the queue is full. `received`: time.monotonic() of the frame
        it came from (default: now), the start of its frame->commit latency."""
        if self._stopped:
            raise RuntimeError("Batcher is closed")
        await self._queue.put((item, time.monotonic() if received is None else received))

    async def flush(self) -> None:
        """Barrier: return once everything put before this call is committed."""
        await self._barrier(stop=False)

    async def close(self) -> WriteTotals:
        """Flush what is queued, stop `run`, return the totals. Safe to call twice."""
        if not self._stopped:
            if not self._running:  # nobody consumes: drain here
                task = asyncio.create_task(self.run())
                await self._barrier(stop=True)
                await task
            else:
                await self._barrier(stop=True)
            self._stopped = True
        return self._totals

    async def _barrier(self, *, stop: bool) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((_Barrier(fut, stop), time.monotonic()))
        await fut

    # -- consumer side ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Collect items, write them by size or age; returns after `close()`.

        Two batches overlap: while batch N is applied and committed (database work, on one connection),
        batch N+1 is collected, turned into rows and staged on a second connection (client work and
        a temporary table). Commits stay one at a time and in order; only the staging runs ahead."""
        self._running = True
        inflight: asyncio.Task[None] | None = None
        try:
            while True:
                if inflight is not None and inflight.done():
                    await inflight  # surfaces a failed write (a bug, not the database) without delay
                    inflight = None
                items, times, barriers = await self._collect()
                if items:
                    staged = await self._stage_ahead(items) if inflight is not None else None
                    try:
                        if inflight is not None:
                            await inflight  # batch N commits before batch N+1 may
                    except BaseException:
                        if staged is not None:
                            await self._discard(staged)
                        raise
                    inflight = asyncio.create_task(self._write(items, times, staged))
                if barriers:
                    if inflight is not None:
                        await inflight
                        inflight = None
                    stop = False
                    for b in barriers:
                        stop = stop or b.stop
                        if not b.done.done():
                            b.done.set_result(None)
                    if stop:
                        return
        finally:
            if inflight is not None and not inflight.done():
                inflight.cancel()
                try:
                    await inflight
                except BaseException:  # noqa: BLE001 - cancelled or failed: the caller sees its own error
                    pass
            self._running = False

    async def _stage_ahead(self, items: list[AnyEvent | CursorMark]) -> Staged | None:
        """Stage the next batch now if the writer can; any failure just leaves it to the normal path."""
        stage = getattr(self._sink, "stage", None)
        if stage is None:
            return None
        events = [i for i in items if not isinstance(i, CursorMark)]
        try:
            async with asyncio.timeout(self._write_timeout):
                staged: Staged | None = await stage(events)
                return staged
        except RETRYABLE + REJECTED:
            return None  # written (and retried, or split) the careful way when its turn comes

    async def _discard(self, staged: Staged) -> None:
        discard = getattr(self._sink, "discard", None)
        if discard is not None:
            await discard(staged)

    async def _collect(self) -> tuple[list[AnyEvent | CursorMark], list[float], list[_Barrier]]:
        item, t = await self._queue.get()
        if isinstance(item, _Barrier):
            return [], [], [item]
        items, times = [item], [t]
        # Age counts from when the oldest item was put, not from when we started waiting.
        deadline = t + self.max_age
        while len(items) < self.batch_size:
            try:
                item, t = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        item, t = await self._queue.get()
                except TimeoutError:
                    break
            if isinstance(item, _Barrier):
                return items, times, [item]
            items.append(item)
            times.append(t)
        return items, times, []

    async def _write(self, items: list[AnyEvent | CursorMark], times: list[float], staged: Staged | None = None) -> None:
        result = await self._commit_staged(items, staged) if staged is not None else None
        if result is None:
            result = await self._commit(items)
        now = time.monotonic()
        self._record_latencies(now, times)
        if self._observer is not None:
            self._observer.db_write_ok()
        t = self._totals
        self._totals = replace(
            t,
            batches=t.batches + 1,
            items=t.items + len(items),
            rows=t.rows + result,
            last_commit_at=datetime.now(timezone.utc),
        )

    async def _commit_staged(self, items: list[AnyEvent | CursorMark], staged: Staged) -> WriteResult | None:
        """Apply and commit a batch staged ahead. None when that failed: the transaction is rolled back
        and the caller writes the batch again the careful way (retries, splitting), so nothing is lost."""
        cursors = [i for i in items if isinstance(i, CursorMark)]
        try:
            async with asyncio.timeout(self._write_timeout):
                return await self._sink.write(staged.events, cursors, staged=staged)  # type: ignore[call-arg]
        except RETRYABLE + REJECTED as exc:
            self._failed_attempt(exc, "staged batch write failed, writing it again", events=len(staged.events))
            return None

    def _failed_attempt(self, exc: BaseException | None, message: str, **fields: int) -> None:
        """One failed write attempt: counted as a retry, told to the observer, logged (no traceback)."""
        self._totals = replace(self._totals, retries=self._totals.retries + 1, last_error=f"{type(exc).__name__}: {exc}")
        if self._observer is not None:
            self._observer.db_write_failed()
        log.warning(message, error=type(exc).__name__, **fields)

    async def _commit(self, items: list[AnyEvent | CursorMark]) -> WriteResult:
        """Write `items` in order. Transient failures are retried (forever, with backoff); a batch the
        database rejects for its *content* is split in halves, written in order, until the one event
        at fault is found and stored as a dead letter instead — one odd event must not jam the rest."""
        try:
            return await self._retrying(items)
        except REJECTED as exc:
            if len(items) > 1:
                half = len(items) // 2
                return await self._commit(items[:half]) + await self._commit(items[half:])
            return await self._retrying([self._rejected(items[0], exc)])

    async def _retrying(self, items: list[AnyEvent | CursorMark]) -> WriteResult:
        events = [i for i in items if not isinstance(i, CursorMark)]
        cursors = [i for i in items if isinstance(i, CursorMark)]

        def _failed(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self._failed_attempt(exc, "batch write failed, retrying", events=len(events), attempt=state.attempt_number)

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RETRYABLE) & retry_if_not_exception_type(REJECTED),
            wait=wait_random_exponential(multiplier=0.05, max=self._retry_max_wait),
            stop=stop_never,
            before_sleep=_failed,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                async with asyncio.timeout(self._write_timeout):
                    return await self._sink.write(events, cursors)
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _rejected(self, item: AnyEvent | CursorMark, exc: BaseException) -> DeadLetter:
        code = getattr(exc, "sqlstate", None) or type(exc).__name__
        self._totals = replace(self._totals, rejected=self._totals.rejected + 1, last_error=f"{code}: {exc}")
        log.error("event rejected by the database, kept as a dead letter", sqlstate=code,
                  kind=getattr(item, "type", "cursor"))
        if isinstance(item, CursorMark):
            payload, channel, source = repr(item), item.channel, Source.REST
        else:
            payload = item.model_dump_json()
            channel = item.status.channel if isinstance(item, EditEvent) else item.channel
            source = item.status.source if isinstance(item, EditEvent) else item.source
        return DeadLetter(
            channel=channel,
            received_at=datetime.now(timezone.utc),
            source=source,
            reason=f"rejected by the database ({code}): {str(exc)[:200]}",
            payload=payload[:MAX_REJECTED_PAYLOAD],
        )

    # -- metrics ----------------------------------------------------------------------------------

    def _record_latencies(self, now: float, times: list[float]) -> None:
        lat = self._latencies
        for t in times:
            self._seen += 1
            if len(lat) < RESERVOIR_SIZE:
                lat.append(now - t)
            else:
                j = random.randrange(self._seen)
                if j < RESERVOIR_SIZE:
                    lat[j] = now - t

    @property
    def totals(self) -> WriteTotals:
        return self._totals

    def depth(self) -> int:
        """Items waiting in the queue (not yet in a batch being written)."""
        return self._queue.qsize()

    def latencies(self) -> list[float]:
        """A uniform sample of put->commit latencies (seconds) since start or the last reset."""
        return list(self._latencies)

    def reset_latencies(self) -> None:
        self._latencies.clear()
        self._seen = 0

    def latency_p50(self) -> float | None:
        return quantile(self._latencies, 0.5)


def quantile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile; None when there is nothing to measure."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


__all__ = ["Batcher", "ItemQueue", "REJECTED", "RETRYABLE", "WriteObserver", "WriteTotals", "Writer", "quantile"]
