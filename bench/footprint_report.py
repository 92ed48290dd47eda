"""The footprint run's samples and verdicts (bench/footprint.py): the table, the RSS slope, the schedule's bound."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
WINDOW_DAYS = 30  # ingester.sources.threads: posts are polled until they are 30 days old


@dataclass(frozen=True)
class Sample:
    minute: float  # real minutes since the live days started
    day: float  # simulated days since the live days started
    rss: int  # bytes
    schedule: int | None  # posts in the thread-polling schedule (None before the first catch-up)
    oldest_days: float | None  # age of the oldest post in it when it was last evaluated, simulated days
    bound: int  # channel posts of the 30 days + slack before then: the most the schedule may hold
    lag_hours: float  # simulated hours between as_of (the earliest the gauges can describe) and the sample
    polls: int  # threads re-read so far
    runs: int  # catch-up runs so far


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x; None with fewer than 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return None if var == 0 else sum((x - mx) * (y - my) for x, y in points) / var


@dataclass(frozen=True)
class Verdict:
    lines: list[str]
    ok: bool


def summarise(samples: list[Sample], days: float, max_slope: float, slack_hours: float) -> Verdict:
    """The table and the verdicts over the live days."""
    live = [s for s in samples if 0 <= s.day <= days]
    if len(live) < 6:
        return Verdict(["too few samples over the live days to judge (lower --sample-every)"], False)
    second = [s for s in live if s.day >= days / 2]
    per_day = slope([(s.day, s.rss / MIB) for s in second])
    per_minute = slope([(s.minute, s.rss / MIB) for s in second])
    mid = min(live, key=lambda s: abs(s.day - days / 2))
    out = [f"{'sim day':>8} {'wall min':>8} {'RSS MiB':>8} {'schedule':>8} {'≤ bound':>8} {'oldest (d)':>10}"]
    marks = sorted({min(live, key=lambda s: abs(s.day - d)) for d in [days * i / 10 for i in range(11)]},
                   key=lambda s: s.day)
    for s in marks:
        oldest = "-" if s.oldest_days is None else f"{s.oldest_days:.2f}"
        sched = "-" if s.schedule is None else str(s.schedule)
        out.append(f"{s.day:8.2f} {s.minute:8.2f} {s.rss / MIB:8.1f} {sched:>8} {s.bound:>8} {oldest:>10}")
    over = [s for s in live if s.schedule is not None and s.schedule > s.bound]
    limit_days = WINDOW_DAYS + slack_hours / 24
    too_old = [s for s in live if s.oldest_days is not None and s.oldest_days > limit_days]
    sizes = [s.schedule for s in live if s.schedule is not None]
    span = max(live[-1].day - live[0].day, 1e-9)
    ages = [s.oldest_days for s in live if s.oldest_days is not None]
    slope_ok = per_day is not None and per_day <= max_slope
    out += [
        "",
        f"RSS: start {live[0].rss / MIB:.1f} MiB (day {live[0].day:.2f}), midpoint {mid.rss / MIB:.1f} MiB "
        f"(day {mid.day:.2f}), end {live[-1].rss / MIB:.1f} MiB (day {live[-1].day:.2f}), "
        f"peak {max(s.rss for s in live) / MIB:.1f} MiB; {len(live)} samples",
        "RSS slope over the second half (days {:.1f}–{:.1f}, {} samples): {} per simulated day, {} per wall minute "
        "(threshold {:+.3f} MiB/day) → {}".format(
            second[0].day, second[-1].day, len(second),
            "n/a" if per_day is None else f"{per_day:+.3f} MiB",
            "n/a" if per_minute is None else f"{per_minute:+.3f} MiB", max_slope,
            "flat" if slope_ok else "GROWING"),
        f"thread-polling schedule: {min(sizes, default=0)}–{max(sizes, default=0)} posts; oldest post in it "
        f"at most {max(ages, default=0.0):.2f} days old (limit {limit_days:.2f}); above the bound in "
        f"{len(over)} of {len(live)} samples, too old in {len(too_old)}; the gauges read "
        f"at most {max(s.lag_hours for s in live):.1f} simulated hours old → "
        + ("bounded by the 30-day window" if not over and not too_old and sizes else "NOT BOUNDED"),
        f"thread polling managed {(live[-1].polls - live[0].polls) / span:.0f} threads re-read and "
        f"{(live[-1].runs - live[0].runs) / span:.0f} catch-up runs per simulated day",
    ]
    return Verdict(out, slope_ok and not over and not too_old and bool(sizes))


def exact(got: dict[str, int], want: dict[str, int], quotes_deleted: int) -> bool:
    """Every kind as the truth, except that quotes may exceed it by deleted quotes nobody announced."""
    others = all(got[k] == want[k] for k in want if k != "quote")
    return others and want["quote"] <= got["quote"] <= want["quote"] + quotes_deleted
