"""Which local days a report covers, and the period it is compared with. Pure: no clock, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


class PeriodError(ValueError):
    """Input the user can fix; `str()` is one line."""


@dataclass(frozen=True)
class Period:
    """Local calendar days [start, end): `end` is the first day after the period."""

    start: date
    end: date
    is_week: bool = False

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise PeriodError(f"--from must be before --to (got {self.start} .. {self.end})")

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> Period:
        """The same number of days right before (for a week: the week before)."""
        length = self.end - self.start
        return Period(self.start - length, self.start, self.is_week)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Local midnight to local midnight (23 or 25 hours on DST days)."""
        return (datetime.combine(self.start, time(), tz), datetime.combine(self.end, time(), tz))

    def slug(self) -> str:
        if self.is_week:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.isoformat()}_{self.last_day.isoformat()}"


def week(text: str) -> Period:
    """`2026-W49` (ISO week: Monday to Sunday)."""
    m = _WEEK.match(text.strip())
    if not m:
        raise PeriodError(f"--week: {text!r} is not an ISO week like 2026-W49")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise PeriodError(f"--week: {text!r} does not exist") from None
    return Period(monday, monday + timedelta(days=7), is_week=True)


def week_before(day: date) -> Period:
    """The last whole ISO week before the week that contains `day`."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday - timedelta(days=7), monday, is_week=True)


def days(start_text: str, end_text: str) -> Period:
    """--from/--to as dates; --to is exclusive (as in `ingester export`)."""
    out = []
    for option, text in (("--from", start_text), ("--to", end_text)):
        try:
            out.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise PeriodError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None
    return Period(out[0], out[1])
