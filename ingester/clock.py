"""The service's clock: what time it is on the channel's calendar, and how long its periods last.

The calendar is what the channel's age is measured in: a post's age for thread polling, the reconcile
interval that drives polling, retention periods, and the times the service records (observed_at,
heartbeats, the start of a stream gap). Like every other I/O boundary the clock is injected: production
reads the system clock; `bench/soak.py --days` runs the real service on a `ScaledClock`, so a month of a
channel's life plays in minutes. Transport timers (socket idle timeouts, batch age, retry back-off,
heartbeat spacing) are about the wire, not the calendar, and stay on real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time on the calendar (timezone-aware, UTC)."""
        ...

    def wall(self, seconds: float) -> float:
        """How many real seconds `seconds` of calendar time take (what to pass to asyncio timeouts)."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The real time: calendar seconds are real seconds."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def wall(self, seconds: float) -> float:
        return seconds


@dataclass(frozen=True)
class ScaledClock:
    """A calendar running `speed` times faster than real time, reading `origin` at the real moment `anchor`
    (Unix seconds). Two processes built with the same three values agree on the time, so a simulator and a
    service in another process can share one simulated calendar without talking about it."""

    origin: datetime
    anchor: float
    speed: float
    real_time: Callable[[], float] = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        if self.origin.tzinfo is None:
            raise ValueError("ScaledClock: origin must be timezone-aware")
        if not self.speed > 0:
            raise ValueError("ScaledClock: speed must be > 0")

    def now(self) -> datetime:
        return self.origin + timedelta(seconds=(self.real_time() - self.anchor) * self.speed)

    def wall(self, seconds: float) -> float:
        return seconds / self.speed


__all__ = ["Clock", "ScaledClock", "SystemClock"]
