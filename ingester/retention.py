"""Drive the retention policy: call `pulse.apply_retention(...)` now and then, from inside the service.

The policy itself lives in SQL (`schema/views/50_retention.sql`) so an operator can run it by hand and
every tier behaves the same; this module only supplies the configured periods and keeps calling it
through database outages. What is kept and why is written in `docs/privacy.md`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

import structlog
from pydantic import BaseModel, ConfigDict, Field

from ingester.clock import Clock, SystemClock

_QUERY = "SELECT what, rows FROM pulse.apply_retention($1, $2, $3, $4, $5)"

# A first run after years of backlog may update many rows; it must not stall the sink's writes on a
# lock for long, so give up on locks quickly and try again next round instead.
_LOCK_TIMEOUT = "5s"


class RetentionSettings(BaseModel):
    """The slice of settings retention needs (PULSE_*_RETENTION_DAYS, PULSE_RETENTION_EVERY_SECONDS)."""

    model_config = ConfigDict(frozen=True)

    text_days: int = Field(default=180, ge=1)
    other_days: int = Field(default=7, ge=1)
    dead_letter_days: int = Field(default=30, ge=1)
    heartbeat_days: int = Field(default=30, ge=1)
    every_seconds: float = Field(default=3600.0, gt=0)


class _Connection(Protocol):
    def transaction(self) -> Any: ...

    async def execute(self, query: str, *args: Any) -> str: ...

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...


class Pool(Protocol):
    """What we use of `asyncpg.Pool` (an injected boundary: tests pass a real pool)."""

    def acquire(self) -> AbstractAsyncContextManager[_Connection]: ...


async def run_retention(pool: Pool, settings: RetentionSettings, as_of: datetime | None = None) -> dict[str, int]:
    """Apply the policy once, counting the periods back from `as_of` (None: the database's now());
    return rows touched per action, e.g. `{"reply_text_purged": 12, ...}`.

    Keys: reply_text_purged, other_statuses_deleted, dead_letters_deleted, heartbeats_deleted, and
    account_prefixes_made (the account sets' month prefixes a new month needs; not a deletion).
    Idempotent: a second call right after returns zeros. Database errors propagate.
    """
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
            rows = await conn.fetch(
                _QUERY,
                settings.text_days,
                settings.other_days,
                settings.dead_letter_days,
                settings.heartbeat_days,
                as_of,
            )
    return {str(r["what"]): int(r["rows"]) for r in rows}


async def retention_loop(
    pool: Pool,
    every_seconds: float,
    settings: RetentionSettings,
    *,
    retry_seconds: float = 60.0,
    first_delay: float = 0.0,
    on_result: Callable[[dict[str, int]], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    stop: asyncio.Event | None = None,
    clock: Clock = SystemClock(),
) -> None:
    """Run `run_retention` now (after `first_delay`) and then every `every_seconds`, until cancelled
    or `stop` is set. A failed run (database down, lock timeout) is logged and retried after
    `min(retry_seconds, every_seconds)`; the loop never dies of it. Periods and delays are `clock` time
    (the service's calendar), and each run counts the retention periods back from `clock.now()`.
    """
    log = structlog.get_logger("pulse.retention")
    stop = stop or asyncio.Event()
    delay = first_delay
    while not stop.is_set():
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=clock.wall(delay))
                return  # stop was set while waiting
            except TimeoutError:
                pass
        try:
            result = await run_retention(pool, settings, clock.now())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is retried; the service goes on
            log.warning("retention_failed", error=type(exc).__name__, detail=str(exc))
            if on_error is not None:
                on_error(exc)
            delay = min(retry_seconds, every_seconds)
            continue
        log.info("retention_applied", **result)
        if on_result is not None:
            on_result(result)
        delay = every_seconds


__all__ = ["Pool", "RetentionSettings", "retention_loop", "run_retention"]
