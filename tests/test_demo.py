"""`ingester demo` shows the whole product: weeks of history with a clock change, then live traffic; every
key figure of the last 7 days and of the 7 days before is there, rounded, in plain words, and not trivial."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from e2e import cli
from ingester.demo import last_clock_change
from ingester.demo_report import KPIS, RESPONSE_KPIS, printed_kpis

pytestmark = pytest.mark.slow

TRIVIAL = {"–", "0", "0,00", "0.00", "0%", "None", ""}
ROUNDED = re.compile(r"^(\d{1,3}([.,]\d{3})*([.,]\d{2})?%?|\d+ \w+)$")  # 1.234 · 0,42 · 14% · 8 minuten


def demo_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL"))}
    return env | {"DATABASE_URL": url} | extra


@pytest.mark.parametrize(("lang", "done"), [("nl", "Alles is opgehaald"), ("en", "Everything was fetched")])
async def test_the_demo_prints_every_kpi_for_both_weeks_rounded_and_non_trivial(
    empty_database_url: str, lang: str, done: str
) -> None:
    extra = {"PULSE_LANGUAGE": "en"} if lang == "en" else {}  # Dutch without the variable
    code, out, err = await cli(demo_env(empty_database_url, **extra), "demo", "--events", "300", "--history", "600",
                               timeout=240)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[-1].startswith(done)  # the ground truth was met
    assert any(("wintertijd" in line or "zomertijd" in line) if lang == "nl" else "clock change" in line
               for line in lines)
    figures = printed_kpis(lines, lang)  # type: ignore[arg-type]
    assert set(figures) == {*KPIS, *RESPONSE_KPIS}
    for key, (last, before) in figures.items():
        for value in (last, before):
            assert value not in TRIVIAL, (key, value, out)
            assert ROUNDED.match(value), (key, value)
    assert "None" not in out and "sink" not in out and not re.search(r"\d[.,]\d{3,}(?!\d)", out.replace(".000", ""))


def test_the_history_reaches_back_to_the_last_clock_change() -> None:
    ams = ZoneInfo("Europe/Amsterdam")
    assert last_clock_change(ams, datetime(2026, 12, 7, 9, tzinfo=timezone.utc)) == (date(2026, 10, 25), True)
    assert last_clock_change(ams, datetime(2026, 5, 1, 9, tzinfo=timezone.utc)) == (date(2026, 3, 29), False)
