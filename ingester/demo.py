"""The main job on a laptop (`ingester demo`) and the compose stack's simulated channel (`run --simulate`).

Both start the built-in simulator in this process and run the real service against it over real sockets:
nothing here takes a shortcut around the protocol. The demo plays weeks of a channel's history first
(backfilled by the service's REST catch-up on its first start, spread over past local days with one
clock change), then live traffic through dropped connections, and prints the key figures of the last
7 days beside the 7 days before (ingester.demo_report).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import asyncpg
import psycopg
import typer
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from ingester import demo_report
from ingester.exits import fail
from ingester.i18n import Language, parse_language
from ingester.migrate import MigrationError, connect_failure, migrate
from ingester.settings import ChannelSettings, Settings, SettingsError, database_settings
from ingester.simulator import RateLimits, Scenario, SimConfig, Simulator

if TYPE_CHECKING:  # the service stack loads only when it runs (CLI start-up)
    from ingester.runner import Summary

DEMO_DATABASE = "postgresql://postgres@127.0.0.1:5432/pulse_demo"
KINDS = demo_report.KINDS
HISTORY_DAYS = 21  # at least three weeks of history; longer when that is needed to reach a clock change


def _fresh_database(url: str, *, default: bool) -> None:
    """The demo compares everything in its database with the simulator's truth, so it starts empty: the
    default demo database is dropped and created again; a DATABASE_URL of one's own must be empty."""
    params = conninfo_to_dict(url)
    name = params.get("dbname")
    admin = make_conninfo(**{**params, "dbname": "postgres"})
    try:
        if default and name:
            with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return
        with psycopg.connect(url, connect_timeout=10) as conn:
            used = conn.execute("SELECT to_regclass('pulse.statuses') IS NOT NULL").fetchone()[0]  # type: ignore[index]
            if used and conn.execute("SELECT EXISTS (SELECT 1 FROM pulse.statuses)").fetchone()[0]:  # type: ignore[index]
                raise MigrationError("DATABASE_URL: the demo needs an empty database and this one holds data — "
                                     "point DATABASE_URL at a new database, or unset it to use pulse_demo")
    except psycopg.OperationalError as exc:
        raise MigrationError(f"DATABASE_URL: {connect_failure(exc)}") from None


def _noon(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, datetime.min.time(), tz) + timedelta(hours=12)


def last_clock_change(tz: ZoneInfo, now: datetime) -> tuple[date, bool]:
    """The most recent local day on which the clock changed, and whether it went back (to winter time)."""
    day = now.astimezone(tz).date()
    for _ in range(400):
        before = day - timedelta(days=1)
        after_offset, before_offset = _noon(day, tz).utcoffset(), _noon(before, tz).utcoffset()
        if after_offset != before_offset:
            return day, after_offset < before_offset  # type: ignore[operator]
        day = before
    raise ValueError(f"{tz.key}: no clock change in the last 400 days")


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT kind, count(*) AS n FROM kpi.engagements GROUP BY kind")
        got = {k: 0 for k in KINDS}
        got.update({r["kind"]: r["n"] for r in rows})
        return got
    finally:
        await conn.close()


async def _periods(dsn: str, tz: ZoneInfo, now: datetime) -> tuple[demo_report.Period, demo_report.Period]:
    """kpi.summary for the last 7 local days (today included, up to now) and the 7 days before."""
    today = now.astimezone(tz).date()
    first_last, first_before = today - timedelta(days=6), today - timedelta(days=13)

    def midnight(d: date) -> datetime:
        return datetime.combine(d, datetime.min.time(), tz)

    conn = await asyncpg.connect(dsn)
    try:
        last = await conn.fetchrow("SELECT * FROM kpi.summary($1, $2)", midnight(first_last), now + timedelta(minutes=1))
        before = await conn.fetchrow("SELECT * FROM kpi.summary($1, $2)", midnight(first_before), midnight(first_last))
    finally:
        await conn.close()
    return (demo_report.Period(first_last, today, dict(last or {})),
            demo_report.Period(first_before, first_last - timedelta(days=1), dict(before or {})))


async def _play_history(sim: Simulator, actions: int, start: datetime, end: datetime,
                        tz: ZoneInfo) -> tuple[date, date]:
    """Weeks of history: every past local day a session at 10:00 local time (one clock change among
    them), actions two minutes apart: the city posts, residents reply, like and boost within the hour,
    the city answers. The service finds it all through the REST catch-up on its first start, as it would
    on a real channel."""
    first, last = start.astimezone(tz).date(), (end - timedelta(days=1)).astimezone(tz).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_day = max(10, actions // len(days))
    for i, day in enumerate(days):
        at = datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=10)
        await sim.play(Scenario(events=per_day, seed=1000 + i, start_at=at, time_step=timedelta(minutes=2)))
    return first, last


async def _demo(dsn: str, events: int, history: int, rate: float, tz: ZoneInfo, lang: Language,
                echo: Callable[[str], None]) -> bool:
    from ingester.runner import Service  # the service stack loads only when it runs (CLI start-up)
    from ingester.service import ServiceConfig

    now = datetime.now(timezone.utc)
    change, to_winter = last_clock_change(tz, now)
    start = min(now - timedelta(days=HISTORY_DAYS), datetime.combine(change, datetime.min.time(), tz) - timedelta(days=4))
    end = now - timedelta(hours=1)
    # 400 residents: enough that each week has new faces beside the returning ones.
    config = SimConfig(rate_limits=RateLimits(api_limit=100_000, paging_limit=100_000), ping_interval=5.0, seed=42,
                       residents=400)
    async with Simulator(config) as sim:
        first, last = await _play_history(sim, history, start, end, tz)
        echo(demo_report.history_line(first, last, change, to_winter, lang))
        channel = ChannelSettings(name="main", base_url=sim.base_url, access_token=SecretStr(sim.token()))
        cfg = ServiceConfig(
            dsn=dsn,
            channels=(channel,),
            salt=SecretStr(secrets.token_hex(16)),  # a fresh salt: demo pseudonyms mean nothing elsewhere
            reconcile_seconds=2.0,
            idle_timeout=10.0,
            metrics_port=None,
            origin="simulated",  # the demo database says it holds simulated data (pulse.data_origin)
        )
        stop = asyncio.Event()
        service = asyncio.create_task(Service(cfg).run(stop))
        await asyncio.sleep(1.0)
        sim.faults.drop_every(3.0)
        started = time.monotonic()
        # No deletes while live: a quote or an old mention deleted while the socket is down is never
        # noticed by the REST catch-up (Mastodon lists no deletions), so the truth could not be met.
        truth = await sim.play(Scenario(events=events, rate=rate, seed=42, delete_share=0.0))
        played = time.monotonic() - started
        sim.faults.drop_every(None)
        sim.faults.drop_all()  # a last gap: the catch-up re-checks what may have changed meanwhile
        want = {k: truth.totals("main").get(k, 0) for k in KINDS}
        deadline = time.monotonic() + 60
        got = await _counts(dsn)
        while got != want and time.monotonic() < deadline and not service.done():
            await asyncio.sleep(0.5)
            got = await _counts(dsn)
        stop.set()
        await service
        echo(demo_report.live_line(events, played, sim.faults.snapshot().get("drops", 0), lang))
        echo("")
        for line in demo_report.truth_lines(got, want, lang):
            echo(line)
        echo("")
        last, before = await _periods(dsn, tz, datetime.now(timezone.utc))
        for line in demo_report.kpi_lines(last, before, lang):
            echo(line)
        echo("")
        return got == want


def demo(
    events: int = typer.Option(1000, min=10, help="Live actions to play after the history."),
    history: int = typer.Option(1500, min=50, help="Actions of backfilled history (weeks, one clock change)."),
    rate: float = typer.Option(200.0, min=1.0, help="Live actions per second."),
) -> None:
    """The main job: weeks of a simulated channel's history, then live traffic through dropped connections;
    prints what was fetched beside the simulator's truth, and the key figures of the last 7 days beside
    the 7 days before (Dutch, or English with PULSE_LANGUAGE=en)."""
    from ingester.service import Fatal

    own_url = bool(os.environ.get("DATABASE_URL"))
    db = database_settings(**({} if own_url else {"database_url": DEMO_DATABASE}))  # SettingsError: exit 2
    try:
        lang = parse_language(os.environ.get("PULSE_LANGUAGE"))
    except ValueError as exc:
        raise SettingsError(f"PULSE_LANGUAGE: {exc}") from None
    dsn = db.dsn()
    tz = ZoneInfo(db.pulse_timezone or "Europe/Amsterdam")
    try:
        _fresh_database(dsn, default=not own_url)
        result = migrate(dsn, timezone=db.pulse_timezone, tier=db.pulse_tier)
    except MigrationError as exc:
        fail(str(exc))
    typer.echo(demo_report.TEXTS.text(lang, "title"))
    typer.echo(demo_report.TEXTS.text(lang, "database", tier=result.tier.describe(),
                                      name=conninfo_to_dict(dsn).get("dbname")))
    from ingester.observability import configure_logging

    configure_logging("console", level=logging.ERROR, stream=sys.stderr)  # keep the printout readable
    try:
        same = asyncio.run(_demo(dsn, events, history, rate, tz, lang, typer.echo))
    except Fatal as exc:
        fail(str(exc))
    typer.echo(demo_report.TEXTS.text(lang, "same" if same else "not_same"))
    raise typer.Exit(0 if same else 1)


async def serve_simulated_channel(settings: Settings, stop: asyncio.Event) -> Summary:
    """`ingester run --simulate` with no Mastodon server configured: ingest from a built-in simulated city
    channel that plays a slow endless session (for `docker compose up`) until `stop`. The database records
    that it holds simulated data (pulse.data_origin), so a later real run against it refuses."""
    from ingester.runner import Service
    from ingester.service import ServiceConfig

    async with Simulator(SimConfig(seed=int(time.time()))) as sim:
        sim.start_scenario(Scenario(events=10**9, rate=settings.pulse_simulator_rate))
        channel = ChannelSettings(
            name=settings.pulse_channel_name, base_url=sim.base_url, access_token=SecretStr(sim.token()),
            hashtags=tuple(settings.pulse_hashtags),
        )
        cfg = replace(ServiceConfig.from_settings_without_channels(settings), channels=(channel,),
                      origin="simulated")
        return await Service(cfg, settings.retention()).run(stop)


def register(app: typer.Typer) -> None:
    app.command()(demo)
