"""The service's calendar is an injected clock: real time in production, a scaled one for the footprint soak."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingester.clock import ScaledClock, SystemClock

ORIGIN = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_a_scaled_clock_reads_its_origin_at_the_anchor_and_runs_speed_times_faster() -> None:
    real = [1000.0]
    clock = ScaledClock(ORIGIN, anchor=1000.0, speed=2880, real_time=lambda: real[0])
    assert clock.now() == ORIGIN
    real[0] += 30.0  # half a real minute
    assert clock.now() == ORIGIN + timedelta(days=1)


def test_a_calendar_period_lasts_its_length_divided_by_the_speed_in_real_seconds() -> None:
    assert ScaledClock(ORIGIN, anchor=0.0, speed=2880).wall(180.0) == 180.0 / 2880
    assert SystemClock().wall(180.0) == 180.0


def test_two_processes_with_the_same_origin_anchor_and_speed_read_the_same_time() -> None:
    a = ScaledClock(ORIGIN, anchor=50.0, speed=100, real_time=lambda: 80.0)
    b = ScaledClock(ORIGIN, anchor=50.0, speed=100, real_time=lambda: 80.0)
    assert a.now() == b.now() == ORIGIN + timedelta(seconds=3000)


def test_the_system_clock_reads_the_current_utc_time() -> None:
    before = datetime.now(timezone.utc)
    assert before <= SystemClock().now() <= datetime.now(timezone.utc)


@pytest.mark.parametrize("origin, speed", [(datetime(2026, 3, 1), 10.0), (ORIGIN, 0.0)])
def test_a_naive_origin_or_a_speed_that_is_not_positive_is_refused(origin: datetime, speed: float) -> None:
    with pytest.raises(ValueError, match="ScaledClock"):
        ScaledClock(origin, anchor=0.0, speed=speed)
