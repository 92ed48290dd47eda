"""Every dashboard query, expanded as Grafana would, runs against a real database and returns the
frame its panel needs; the committed JSON is what the Python definitions generate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from test_grafana_scenario import live_database

from ingester.grafana import build
from ingester.grafana.boards_kpi import overview, post_detail
from ingester.grafana.boards_live import live_qa
from ingester.grafana.macros import TimeRange, Variable, expand
from ingester.grafana.model import Dashboard, Frame, Query
from ingester.i18n import LANGUAGES
from ingester.migrate import detect_tier

# Panels are read by `key`, the same in every language; the boards' SQL differs between languages only
# in text literals (test_grafana_languages), so one language's boards serve the figure tests.
OVERVIEW, LIVE_QA, POST_DETAIL = overview("en"), live_qa("en"), post_detail("en")
EVERY_BOARD = [board for lang in LANGUAGES for board in build.dashboards(lang)]


def tier(url: str) -> str:
    with psycopg.connect(url) as conn:
        return detect_tier(conn).name


def board(lang: str, uid: str) -> Dashboard:
    return {b.uid: b for b in build.dashboards(lang)}[uid]  # type: ignore[arg-type]


SPANS = {"now-7d": timedelta(days=7), "now-3h": timedelta(hours=3), "now-6h": timedelta(hours=6)}
# Panels with rows only on full TimescaleDB (its background jobs); on plain PostgreSQL they are empty
# and say why (tests/test_background_jobs.py covers them on the TimescaleDB double).
TIMESCALE_ONLY = {"pulse-health": {"jobs"}}


def run(conn: psycopg.Connection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = conn.execute(sql.encode())  # bytes: no client-side placeholders, like Grafana's simple query
    return [d.name for d in cur.description or ()], cur.fetchall()


def numeric(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def check_frame(query: Query, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Raise AssertionError when the result is not the frame the panel declares."""
    if query.frame is Frame.STAT:
        assert len(columns) == 1 and len(rows) == 1, f"stat needs one value, got {columns} x {len(rows)}"
        assert rows[0][0] is None or numeric(rows[0][0]), f"stat value not numeric: {rows[0][0]!r}"
    elif query.frame is Frame.TABLE:
        assert tuple(columns) == query.columns, f"table columns {columns} != declared {query.columns}"
    else:
        assert "time" in columns, f"time series without a time column: {columns}"
        t = columns.index("time")
        times = [r[t] for r in rows]
        assert all(isinstance(x, datetime) for x in times), "time column is not a timestamp"
        assert times == sorted(times), "time series rows are not sorted by time"
        metric = columns.index("metric") if "metric" in columns else None
        values = [i for i in range(len(columns)) if i not in (t, metric)]
        assert values, "time series without a value column"
        for row in rows:
            assert all(row[i] is None or numeric(row[i]) for i in values), f"non-numeric value in {row}"
        keys = [(r[t], r[metric] if metric is not None else None) for r in rows]
        assert len(keys) == len(set(keys)), "duplicate time (and metric) rows"


def options(conn: psycopg.Connection, board: Dashboard, rng: TimeRange, chosen: dict[str, str | None]) -> list[Variable]:
    """Run each variable's own query (as Grafana does on load) and select a value or All."""
    out: list[Variable] = []
    for v in board.variables:
        cols, rows = run(conn, expand(v.sql, rng, variables=out).sql)
        idx = cols.index("__value") if "__value" in cols else 0
        values = tuple(str(r[idx]) for r in rows)
        pick = chosen.get(v.name)
        if pick is None and v.include_all:
            out.append(Variable(v.name, values, v.multi, v.include_all, v.all_value, is_all=True))
        elif pick is None and not values:  # Grafana's "None" option: the empty value
            out.append(Variable(v.name, ("",), v.multi, v.include_all, v.all_value))
        else:
            value = pick if pick is not None else values[0]
            assert value in values, f"${v.name}: {value!r} is not among the options {values[:5]}"
            out.append(Variable(v.name, (value,), v.multi, v.include_all, v.all_value))
    return out


def run_board(url: str, board: Dashboard, chosen: dict[str, str | None]) -> dict[str, list[tuple]]:
    now = datetime.now(UTC)  # the scenario is relative to a moment just before; rows were ingested since
    rng = TimeRange(now - SPANS[board.time_from], now)
    results: dict[str, list[tuple]] = {}
    with psycopg.connect(url) as conn:
        variables = options(conn, board, rng, chosen)
        for panel in board.panels:
            sql = expand(panel.query.sql, rng, variables=variables, interval=timedelta(minutes=1)).sql
            try:
                cols, rows = run(conn, sql)
            except psycopg.Error as exc:
                raise AssertionError(f"{board.title} / {panel.title}: {exc}\n{sql}") from None
            conn.rollback()
            try:
                check_frame(panel.query, cols, rows)
            except AssertionError as exc:
                raise AssertionError(f"{board.title} / {panel.title}: {exc}") from None
            results[panel.key] = rows
    return results


def test_committed_provisioning_files_of_every_language_are_what_the_definitions_generate() -> None:
    assert build.stale() == [], "run: python -m ingester.grafana.build"
    assert build.provisioning_dir("nl") == build.ROOT / "grafana" / "provisioning"  # what compose mounts
    assert (build.ROOT / "grafana" / "provisioning-en" / "dashboards" / "pulse" / "pulse-live.json").is_file()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("uid", ["pulse-overview", "pulse-live", "pulse-health"])
async def test_every_panel_returns_its_frame_with_data_for_one_channel_and_for_all(
    database_url: str, uid: str, lang: str
) -> None:
    s, _ = await live_database(database_url)
    for chosen in ({"channel": "amsterdam"}, {"channel": None}):
        results = run_board(database_url, board(lang, uid), chosen)
        empty = [key for key, rows in results.items() if not rows]
        allowed = set() if tier(database_url) == "timescale" else TIMESCALE_ONLY.get(uid, set())
        assert set(empty) == allowed, f"panels without data on a busy scenario: {empty}"


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_post_detail_panels_return_their_frames_for_the_qa_post(database_url: str, lang: str) -> None:
    s, qa = await live_database(database_url)
    results = run_board(database_url, post_detail(lang), {"channel": "amsterdam", "post": qa})  # type: ignore[arg-type]
    assert results["the_post"][0][2] == 40  # replies, including the deep ones
    assert len(results["answers"]) == 30  # every direct reply is addressed to the city
    assert not [t for t, rows in results.items() if not rows]


async def test_live_board_counts_the_session_as_it_happened(database_url: str) -> None:
    s, _ = await live_database(database_url)
    results = run_board(database_url, LIVE_QA, {"channel": "amsterdam"})
    assert results["replies"] == [(40.0,)]
    # 30 direct replies are addressed to the city, 5 of them answered; deep replies are not addressed
    assert results["waiting"] == [(25.0,)]
    assert sum(r[1] for r in results["per_minute"]) == 40
    newest = results["newest"]
    assert newest[0][1].endswith("@example.social") and "<p>" not in newest[0][2]


async def test_daily_activity_buckets_start_at_local_midnight_in_the_configured_timezone(
    database_url: str,
) -> None:
    s, _ = await live_database(database_url)
    results = run_board(database_url, OVERVIEW, {"channel": "amsterdam"})
    days = [row[0].astimezone(ZoneInfo("Europe/Amsterdam")) for row in results["daily"]]
    assert days and all((d.hour, d.minute) == (0, 0) for d in days)
    weeks = [row[0].astimezone(ZoneInfo("Europe/Amsterdam")) for row in results["weekly"]]
    assert weeks and all(w.weekday() == 0 and (w.hour, w.minute) == (0, 0) for w in weeks[1:])


async def test_variable_queries_offer_the_channel_every_format_and_the_posts(database_url: str) -> None:
    s, qa = await live_database(database_url)
    rng = TimeRange(s.now - timedelta(days=7), s.now)
    with psycopg.connect(database_url) as conn:
        found = {v.name: v.values for v in options(conn, POST_DETAIL, rng, {"channel": "amsterdam", "post": qa})}
        formats = options(conn, OVERVIEW, rng, {})[1].values
    assert found["channel"] == ("amsterdam",)
    assert found["post"] == (qa,)  # a single-valued variable carries just the selection
    assert {"qa", "innovator_spotlight", "other"} <= set(formats)


async def test_city_posts_annotation_returns_time_and_text_for_each_post(database_url: str) -> None:
    s, qa = await live_database(database_url)
    rng = TimeRange(s.now - timedelta(hours=3), s.now)
    with psycopg.connect(database_url) as conn:
        variables = options(conn, LIVE_QA, rng, {"channel": "amsterdam"})
        cols, rows = run(conn, expand(LIVE_QA.annotations[0].sql, rng, variables=variables).sql)
    assert cols[:2] == ["time", "text"]
    assert rows[0][1] == "The city posted #QenA #Amsterdam"
    with psycopg.connect(database_url) as conn:
        cols, rows = run(conn, expand(live_qa("nl").annotations[0].sql, rng, variables=variables).sql)
    assert rows[0][1] == "De stad plaatste #QenA #Amsterdam"
    assert {r[2] for r in rows} == {"post", "answer"}


def test_every_panel_has_a_description_a_unique_title_and_a_unique_key_per_board() -> None:
    for board in EVERY_BOARD:
        titles = [p.title for p in board.panels]
        assert len(titles) == len(set(titles)), board.title
        keys = [p.key for p in board.panels]
        assert all(keys) and len(keys) == len(set(keys)), board.title
        assert all(p.description for p in board.panels), board.title


def test_live_board_refreshes_every_five_seconds_over_the_last_three_hours() -> None:
    doc = LIVE_QA.to_json()
    assert (doc["refresh"], doc["time"]["from"]) == ("5s", "now-3h")


def test_dashboard_json_references_only_the_provisioned_datasource() -> None:
    for board in EVERY_BOARD:
        doc = board.to_json()
        refs = [t["datasource"]["uid"] for p in doc["panels"] for t in p.get("targets", [])]
        refs += [v["datasource"]["uid"] for v in doc["templating"]["list"]]
        assert set(refs) == {"pulse-pg"}, board.title


def test_panels_never_overlap_on_the_grid() -> None:
    for board in EVERY_BOARD:
        cells: set[tuple[int, int]] = set()
        for p in board.to_json()["panels"]:
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, f"{board.title}: {p['title']} overlaps"
            cells |= mine


def test_values_shown_as_words_are_mapped_in_the_field_config_where_grafana_reads_them() -> None:
    # under a panel's `options` Grafana ignores mappings: the data-source banner would read a green "2"
    for board in EVERY_BOARD:
        docs = {p.key: p.to_json(1, 0, 0) for p in board.panels}
        assert [k for k, d in docs.items() if "mappings" in d["options"]] == [], board.uid
        if board.uid == "pulse-health":
            words = {k: docs[k]["fieldConfig"]["defaults"]["mappings"][0]["options"]
                     for k in ("origin", "stream", "connected")}
            assert words["origin"]["2"]["color"] == "red" and words["origin"]["1"]["color"] == "green"
            assert set(words["stream"]) == set(words["connected"]) == {"0", "1"}


def test_numbers_have_units_counts_no_decimals_ratios_two_and_durations_read_as_a_clock() -> None:
    for board in EVERY_BOARD:
        for p in board.to_json()["panels"]:
            if p["type"] == "row":
                continue
            defaults = p["fieldConfig"]["defaults"]
            if p["type"] == "stat" and "mappings" not in defaults:  # (mapped stats show words)
                assert defaults.get("unit") in ("locale", "dthms"), p["title"]
                assert defaults["unit"] == "dthms" or defaults.get("decimals") is not None, p["title"]
            for o in p["fieldConfig"]["overrides"]:
                props = {x["id"]: x["value"] for x in o["properties"]}
                column = o["matcher"]["options"]
                if column.endswith("_seconds"):
                    assert props.get("unit") == "dthms", (p["title"], column)
                if column in ("reply_like_ratio", "replies_per_post"):
                    assert (props.get("unit"), props.get("decimals")) == ("locale", 2), (p["title"], column)
                if column in ("replies", "favourites", "boosts", "repliers"):
                    assert (props.get("unit"), props.get("decimals")) == ("locale", 0), (p["title"], column)


async def test_the_entry_route_row_shows_visits_clicks_and_keyword_requests_per_day_and_source(
    database_url: str,
) -> None:
    await live_database(database_url)
    results = run_board(database_url, OVERVIEW, {"channel": "amsterdam"})
    by_source = {r[0]: r[1:] for r in results["entry_by_source"]}
    assert by_source["bibliotheek-oost"] == (231, 49, 0, 0, 0)  # 7 days of 30+d views, 4+d sign-up clicks
    assert by_source["sms"] == (0, 0, 0, 42, 0) and by_source["whatsapp"] == (0, 0, 0, 0, 35)
    views = results["entry_views"]
    assert {r[1] for r in views} == {"bibliotheek-oost", "direct", "sms", "whatsapp"} and len(views) == 28
    assert len(results["entry_clicks"]) == 7
    assert results["entry_new_accounts"]
