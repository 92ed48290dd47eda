"""Fixed-window throttles with Mastodon's X-RateLimit-* headers (config/initializers/rack_attack.rb).

Windows are aligned to multiples of the period. The headers describe whichever applicable throttle
is closest to exhaustion; `X-RateLimit-Reset` is ISO-8601 with microseconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from ingester.simulator.config import RateLimits

PAGING_PARAMS = ("max_id", "min_id", "since_id", "page")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: datetime

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": self.reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.time) -> None:
        self._limits = limits
        self._clock = clock
        self._counts: dict[tuple[str, str, int], int] = {}

    def _throttles(self, paging: bool) -> list[tuple[str, int, float]]:
        out = [("api", self._limits.api_limit, self._limits.api_period)]
        if paging:
            out.append(("paging", self._limits.paging_limit, self._limits.paging_period))
        return out

    def hit(self, key: str, *, paging: bool) -> Verdict:
        """Count one request by `key` (token or IP) and say whether it may pass."""
        now = self._clock()
        verdicts: list[Verdict] = []
        for name, limit, period in self._throttles(paging):
            slot = (name, key, math.floor(now / period))
            count = self._counts[slot] = self._counts.get(slot, 0) + 1
            reset = datetime.fromtimestamp(now + (period - now % period), timezone.utc)
            verdicts.append(Verdict(count <= limit, limit, max(0, limit - count), reset))
        fired = [v for v in verdicts if not v.allowed]
        # A 429 reports the throttle that fired; otherwise the one closest to exhaustion.
        return fired[0] if fired else min(verdicts, key=lambda v: v.remaining)

    def exhausted(self, key: str) -> Verdict:
        """Headers for an injected 429: the api throttle with nothing left."""
        now = self._clock()
        period = self._limits.api_period
        reset = datetime.fromtimestamp(now + (period - now % period), timezone.utc)
        return Verdict(False, self._limits.api_limit, 0, reset)

    def peek(self, key: str) -> Verdict:
        """Headers for a request that is not counted (e.g. an injected 5xx)."""
        now = self._clock()
        period = self._limits.api_period
        count = self._counts.get(("api", key, math.floor(now / period)), 0)
        reset = datetime.fromtimestamp(now + (period - now % period), timezone.utc)
        return Verdict(True, self._limits.api_limit, max(0, self._limits.api_limit - count), reset)
