"""Thread polling follows activity: every 2 min while young or busy, backing off to daily until 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingester.sources.threads import DAY, HOUR, MINUTE, ThreadSchedule, poll_interval

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def test_a_post_younger_than_six_hours_is_polled_every_two_minutes() -> None:
    assert poll_interval(5 * HOUR, busy=False) == 2 * MINUTE


def test_an_older_post_backs_off_and_stops_after_thirty_days() -> None:
    intervals = [poll_interval(age, busy=False) for age in (12 * HOUR, 3 * DAY, 20 * DAY, 31 * DAY)]
    assert intervals == [15 * MINUTE, 2 * HOUR, DAY, None]


def test_a_busy_old_post_is_polled_as_often_as_a_young_one() -> None:
    assert poll_interval(3 * DAY, busy=True) == 2 * MINUTE


def test_a_reply_three_levels_deep_is_found_within_three_minutes_of_a_young_post() -> None:
    s = ThreadSchedule()
    s.track("p", T0)
    assert s.due(T0 + MINUTE) == ["p"]
    s.polled("p", T0 + MINUTE, new_replies=0)
    # a deep reply lands right after the poll; the next poll is due two minutes later at the latest
    assert s.due(T0 + 2 * MINUTE) == []
    assert s.due(T0 + 3 * MINUTE) == ["p"]


def test_new_replies_keep_an_old_post_busy_for_an_hour() -> None:
    s = ThreadSchedule()
    posted = T0 - 3 * DAY
    s.track("p", posted)
    s.polled("p", T0, new_replies=2)
    assert s.due(T0 + 2 * MINUTE) == ["p"]
    s.polled("p", T0 + 2 * MINUTE, new_replies=0)
    assert s.due(T0 + 2 * HOUR - MINUTE) == []  # busy window over, back to the 2 h interval


def test_after_a_gap_young_posts_are_due_at_once_youngest_first() -> None:
    s = ThreadSchedule()
    s.track("old", T0 - 2 * HOUR)
    s.track("new", T0 - HOUR)
    s.polled("old", T0, new_replies=0)
    s.polled("new", T0, new_replies=0)
    assert s.due(T0 + MINUTE) == []
    assert s.due(T0 + MINUTE, young_within=6 * HOUR) == ["new", "old"]


def test_posts_past_thirty_days_are_forgotten() -> None:
    s = ThreadSchedule()
    s.track("p", T0 - 31 * DAY)
    assert s.due(T0) == []
    assert "p" not in s.posts
