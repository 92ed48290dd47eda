"""`ingester report`: one page whose every figure is the kpi views' figure, in Dutch or English, rendered
by a real headless Chromium as PDF and PNG from a simulated month written through the real sink."""

from __future__ import annotations

import asyncio
import socket
import struct
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pypdf
import pytest
from psycopg.rows import dict_row
from typer.testing import CliRunner

from ingester import i18n
from ingester.cli import app
from ingester.report import browser, chart, period
from ingester.report.chart import nice_ceiling
from ingester.report.figures import Day
from ingester.report.command import build_html
from ingester.report.page import count_card, duration_card, ratio_card, share_card
from report_month import write_month

ARTIFACTS = Path(__file__).resolve().parent.parent / "out" / "test-artifacts"
MADE = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
W43 = period.week("2026-W43")  # 19-25 Oct 2026, with the 25-hour day; compared with W42
runner = CliRunner()


class Figures(HTMLParser):
    """Collects the data-* attributes the template puts on every figure."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.texts: dict[str, list[str]] = {}
        self.days: list[dict[str, str]] = []
        self.posts: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if "data-figure" in a:
            self.figures[a["data-figure"]] = a["data-value"]
            self._open = a["data-figure"]
            self.texts[self._open] = []
        if "data-day" in a:
            self.days.append(a)
        if "data-post" in a:
            self.posts.append(a)

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.texts[self._open].append(data.strip())


def parse(html: str) -> Figures:
    p = Figures()
    p.feed(html)
    return p


@pytest.fixture
def month_url(database_url: str) -> str:
    asyncio.run(write_month(database_url))
    return database_url


def html_for(url: str, lang: i18n.Language = "nl", p: period.Period = W43, channel: str | None = None) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return build_html(conn, p, channel, lang, MADE)


def view_rows(url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SET TimeZone = 'Europe/Amsterdam'")
        cur.execute(query, args)
        return cur.fetchall()


def same(text: str, value: Any) -> bool:
    if value is None:
        return text == ""
    return abs(float(text) - float(value)) <= 1e-9 * max(1.0, abs(float(value)))


def test_every_figure_on_the_page_equals_the_kpi_views_for_the_same_week(month_url: str) -> None:
    page = parse(html_for(month_url))
    summary = view_rows(month_url, "SELECT * FROM kpi.summary('2026-10-19', '2026-10-26')")[0]
    assert summary["posts"] > 0 and summary["returning_accounts"] > 0  # the month gives something to compare
    for key in ("replies_per_post", "reply_like_ratio", "returning_accounts", "distinct_accounts",
                "answered_share", "median_response_seconds"):
        assert same(page.figures[key], summary[key]), key
    assert same(page.figures["new_accounts"], summary["new_accounts"])
    # what a reader sees is the same number, formatted in Dutch
    assert i18n.ratio(float(summary["reply_like_ratio"]), "nl") in page.texts["reply_like_ratio"]
    assert i18n.number(summary["distinct_accounts"], "nl") in page.texts["distinct_accounts"]
    unanswered = view_rows(month_url, "SELECT count(*) AS n FROM kpi.response_times WHERE answered_at IS NULL")[0]
    assert page.figures["unanswered_now"] == str(unanswered["n"])
    daily = view_rows(month_url, """SELECT (bucket AT TIME ZONE 'Europe/Amsterdam')::date AS day,
                                           sum(replies) AS replies, sum(favourites) AS favourites
                                      FROM kpi.activity_daily WHERE bucket >= '2026-10-19' AND bucket < '2026-10-26'
                                     GROUP BY 1""")
    by_day = {r["day"].isoformat(): r for r in daily}
    assert [d["data-day"] for d in page.days] == [d.isoformat() for d in W43.days]
    for d in page.days:
        want = by_day.get(d["data-day"], {"replies": 0, "favourites": 0})
        assert (int(d["data-replies"]), int(d["data-favourites"])) == (want["replies"], want["favourites"])
    top = view_rows(month_url, """SELECT post_id, replies, favourites FROM kpi.post_stats
                                   WHERE posted_at >= '2026-10-19' AND posted_at < '2026-10-26'
                                   ORDER BY replies DESC, favourites DESC NULLS LAST, posted_at, post_id LIMIT 5""")
    assert [(p["data-post"], int(p["data-replies"])) for p in page.posts] == [(r["post_id"], r["replies"]) for r in top]


def test_the_comparison_is_with_the_week_before(month_url: str) -> None:
    page = parse(html_for(month_url))
    before = view_rows(month_url, "SELECT * FROM kpi.summary('2026-10-12', '2026-10-19')")[0]
    now = view_rows(month_url, "SELECT * FROM kpi.summary('2026-10-19', '2026-10-26')")[0]
    diff = now["distinct_accounts"] - before["distinct_accounts"]
    words = " ".join(page.texts["distinct_accounts"])
    assert f"{i18n.number(abs(diff), 'nl')} (" in words
    assert ("meer dan de week ervoor" if diff > 0 else "minder dan de week ervoor") in words
    assert ("▲" if diff > 0 else "▼") in words


def test_the_page_is_self_contained_and_english_on_request(month_url: str) -> None:
    html = html_for(month_url, "en")
    page = parse(html)
    assert not page.tags & {"script", "link", "img", "iframe", "object"}
    assert "src=" not in html and "url(" not in html and "@import" not in html
    assert "Weekly report, week 43 (2026)" in html and "Replies per post" in html and "Reacties" not in html
    summary = view_rows(month_url, "SELECT reply_like_ratio FROM kpi.summary('2026-10-19', '2026-10-26')")[0]
    assert i18n.ratio(float(summary["reply_like_ratio"]), "en") in page.texts["reply_like_ratio"]


def test_a_channel_scoped_report_uses_that_channel_only(month_url: str) -> None:
    with psycopg.connect(month_url, autocommit=True) as conn:
        conn.execute("INSERT INTO pulse.channels (channel, account_id, account_key, acct, base_url)"
                     " VALUES ('zuid', '2', 'k_zuid', 'zuid@stad.example', 'https://stad.example')")
    page = parse(html_for(month_url, channel="zuid"))
    assert page.figures["distinct_accounts"] == "0" and page.posts == []


def test_the_entry_route_appears_once_it_has_counts(month_url: str) -> None:
    assert "data-figure=\"page_views\"" not in html_for(month_url)  # no counts yet: no row of zeros
    with psycopg.connect(month_url, autocommit=True) as conn:  # what the web service flushes (kpi.entry_daily)
        conn.execute("""INSERT INTO pulse.entry_counts (day, source, kind, count)
                        SELECT d::date, s, k, n
                          FROM generate_series('2026-10-15'::date, '2026-10-31', '1 day') d,
                               (VALUES ('qr'), ('web')) v(s),
                               (VALUES ('page_view', 10), ('signup_click', 2), ('reply_click', 1),
                                       ('keyword_sms', 3)) c(k, n)""")
    page = parse(html_for(month_url))
    assert page.figures["page_views"] == "140" and page.figures["keyword_sms"] == "42"  # 7 days x 2 sources
    # the week before has counts from Thursday 15 October on: 4 days x 2 sources x 10
    assert "60 (+75%) meer dan de week ervoor" in " ".join(page.texts["page_views"])


def test_deltas_read_as_plain_language_with_the_right_arrow() -> None:
    prev = "de week ervoor"
    assert count_card("k", "K", 12, 8, "nl", prev).delta == "4 (+50%) meer dan de week ervoor"
    assert count_card("k", "K", 3, 4, "nl", prev).arrow == "▼"
    assert count_card("k", "K", 5, 5, "nl", prev).delta == "evenveel als de week ervoor"
    assert ratio_card("k", "K", 0.42, 0.4, "nl", prev, 2).delta == "hoger dan de week ervoor (was 0,40)"
    assert share_card("k", "K", 0.8, 0.9, "nl", prev).delta == "10 procentpunt lager dan de week ervoor"
    faster = duration_card("k", "K", 1800, 7200, "nl", prev)
    assert (faster.arrow, faster.tone, faster.delta) == ("▼", "good", "sneller dan de week ervoor (was 2 uur)")
    assert ratio_card("k", "K", 0.4, None, "nl", prev, 2).delta == "geen vergelijking: de week ervoor zonder gegevens"
    assert ratio_card("k", "K", None, 0.4, "nl", prev, 2).delta == "geen gegevens in deze periode"


def test_the_chart_scale_ends_on_a_round_number_close_to_the_highest_bar() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 7, 23, 41, 100, 101)] == [1, 1, 8, 30, 50, 100, 200]
    drawn = chart.build([Day(date(2026, 10, 19), 23, 0), Day(date(2026, 10, 20), 0, 15)], "nl",
                        {"replies": "reacties", "favourites": "favorieten"})
    assert [label for _, label in drawn.grid] == ["0", "15", "30"]
    tallest = max(drawn.bars, key=lambda b: b.h)
    assert tallest.kind == "replies" and tallest.title == "19 okt 2026: 23 reacties"


def test_periods_are_local_weeks_and_ranges() -> None:
    assert (W43.start, W43.end, W43.previous().start) == (date(2026, 10, 19), date(2026, 10, 26), date(2026, 10, 12))
    start, end = W43.bounds(ZoneInfo("Europe/Amsterdam"))
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 7 * 24 * 3600 + 3600  # the week with the 25-hour day
    assert period.week_before(date(2026, 12, 7)) == period.week("2026-W49")
    r = period.days("2026-11-01", "2026-12-01")
    assert (r.previous().start, r.previous().end, r.is_week) == (date(2026, 10, 2), date(2026, 11, 1), False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-49"], "--week: '2026-49' is not an ISO week"),
        (["--week", "2026-W60"], "does not exist"),
        (["--week", "2026-W49", "--from", "2026-11-01", "--to", "2026-12-01"], "exclude each other"),
        (["--from", "2026-11-01"], "--from and --to go together"),
        (["--from", "2026-12-01", "--to", "2026-11-01"], "--from must be before --to"),
        (["--week", "2026-W43", "--channel", "west"], "unknown channel 'west'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(database_url: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", *args], env={"DATABASE_URL": database_url})
    assert result.exit_code == 2 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_line_saying_why_and_exit_code_1() -> None:
    with socket.socket() as s:  # a port nothing listens on once this block ends
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://postgres@127.0.0.1:{port}/pulse"
    result = runner.invoke(app, ["report", "--week", "2026-W43"], env={"DATABASE_URL": url})
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == ("ingester: DATABASE_URL: the server refused the connection — check the host "
                                     "and port, and that PostgreSQL is running")


def test_the_report_renders_in_headless_chromium_as_png_and_one_a4_pdf(month_url: str, tmp_path: Path) -> None:
    html = html_for(month_url)
    png = browser.png(html)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1191, 1679)  # the A4 page at 1.5x
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report-2026-W43.png").write_bytes(png)
    result = runner.invoke(app, ["report", "--week", "2026-W43", "--format", "pdf", "-o", str(tmp_path / "r.pdf")],
                           env={"DATABASE_URL": month_url, "PULSE_LANGUAGE": "en"})
    assert result.exit_code == 0, result.stderr
    pdf = pypdf.PdfReader(BytesIO((tmp_path / "r.pdf").read_bytes()))
    assert len(pdf.pages) == 1
    box = pdf.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)  # A4 in mm
    text = pdf.pages[0].extract_text()
    summary = view_rows(month_url, "SELECT distinct_accounts FROM kpi.summary('2026-10-19', '2026-10-26')")[0]
    assert "Weekly report, week 43" in text and "Accounts who engaged" in text
    assert i18n.number(summary["distinct_accounts"], "en") in text


def test_html_goes_to_stdout_by_default(month_url: str) -> None:
    result = runner.invoke(app, ["report", "--week", "2026-W43"], env={"DATABASE_URL": month_url})
    assert result.exit_code == 0 and result.stdout.startswith("<!DOCTYPE html>")
    assert "Weekrapport week 43 (2026)" in result.stdout


