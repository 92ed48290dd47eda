"""The main job on a laptop (`ingester demo`) and the compose stack's simulated channel (`run --simulate`).

Both start the built-in simulator in this process and run the real service against it over real sockets:
nothing here takes a shortcut around the protocol.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import asyncpg
import psycopg
import typer
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from ingester.migrate import MigrationError, connect_failure, migrate
from ingester.runner import Service
from ingester.service import Fatal, ServiceConfig
from ingester.settings import ChannelSettings, Settings, SettingsError, database_settings
from ingester.simulator import RateLimits, Scenario, SimConfig, Simulator

DEMO_DATABASE = "postgresql://postgres@127.0.0.1:5432/pulse_demo"
KINDS = ("reply", "mention", "quote", "favourite", "reblog", "follow")


def _ensure_database(url: str) -> None:
    """Create the demo database if it does not exist (connecting to the server's `postgres` database)."""
    params = conninfo_to_dict(url)
    name = params.get("dbname")
    try:
        psycopg.connect(url, connect_timeout=10).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc) or "database" not in str(exc) or not name:
            raise MigrationError(f"DATABASE_URL: {connect_failure(exc)}") from None
    admin = make_conninfo(**{**params, "dbname": "postgres"})
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise MigrationError(f"DATABASE_URL: cannot create the database {name!r} ({connect_failure(exc)})") from None


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT kind, count(*) AS n FROM kpi.engagements GROUP BY kind")
        got = {k: 0 for k in KINDS}
        got.update({r["kind"]: r["n"] for r in rows})
        return got
    finally:
        await conn.close()


async def _summary_line(dsn: str, since: datetime) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regprocedure('kpi.summary(timestamptz,timestamptz,text,text)') IS NOT NULL"):
            return None
        r = await conn.fetchrow("SELECT * FROM kpi.summary($1, now() + interval '1 minute')", since)
        return ", ".join(f"{k}={v}" for k, v in dict(r).items())
    finally:
        await conn.close()


async def _demo(dsn: str, events: int, rate: float, echo: typer.echo) -> bool:  # type: ignore[valid-type]
    started = datetime.now(timezone.utc) - timedelta(minutes=1)
    config = SimConfig(rate_limits=RateLimits(api_limit=100_000, paging_limit=100_000), ping_interval=5.0, seed=42)
    async with Simulator(config) as sim:
        echo(f"simulator: REST {sim.base_url}, streaming {sim.streaming_url}")
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
        echo(f"playing {events} events at {rate:g}/s, dropping every socket every 3 s ...")
        sim.faults.drop_every(3.0)
        truth = await sim.play(Scenario(events=events, rate=rate, seed=42))
        sim.faults.drop_every(None)
        sim.faults.drop_all()  # a last gap: the catch-up re-checks what may have changed meanwhile
        want = {k: truth.totals("main").get(k, 0) for k in KINDS}
        deadline = time.monotonic() + 60
        got = await _counts(dsn)
        while got != want and time.monotonic() < deadline and not service.done():
            await asyncio.sleep(0.5)
            got = await _counts(dsn)
        stop.set()
        summary = await service
        echo("")
        echo(f"{'kind':<10} {'ingested':>9} {'ground truth':>13}")
        for k in KINDS:
            echo(f"{k:<10} {got[k]:>9} {want[k]:>13}{'' if got[k] == want[k] else '   <- differs'}")
        echo("")
        echo(f"socket drops: {sim.faults.snapshot().get('drops', 0)}; {summary.line()}")
        line = await _summary_line(dsn, started)
        if line:
            echo(f"kpi.summary: {line}")
        return got == want


def demo(
    events: int = typer.Option(2000, min=10, help="Scenario actions to play."),
    rate: float = typer.Option(200.0, min=1.0, help="Actions per second."),
) -> None:
    """The main job: migrate, start the simulator and the ingester, then print what was ingested."""
    try:
        db = database_settings(**({} if os.environ.get("DATABASE_URL") else {"database_url": DEMO_DATABASE}))
    except SettingsError as exc:
        typer.echo(f"ingester: {exc}", err=True)
        raise typer.Exit(2) from None
    dsn = db.dsn()
    try:
        _ensure_database(dsn)
        result = migrate(dsn, timezone=db.pulse_timezone, tier=db.pulse_tier)
    except MigrationError as exc:
        typer.echo(f"ingester: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database: {result.tier.describe()} ({conninfo_to_dict(dsn).get('dbname')})")
    import logging

    from ingester.observability import configure_logging

    configure_logging("console", level=logging.WARNING, stream=sys.stderr)  # keep the report readable
    try:
        same = asyncio.run(_demo(dsn, events, rate, typer.echo))
    except Fatal as exc:
        typer.echo(f"ingester: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("ingested = ground truth" if same else "ingested differs from the ground truth")
    raise typer.Exit(0 if same else 1)


def run_with_simulator(settings: Settings) -> int:
    """`ingester run --simulate` with no Mastodon server configured: ingest from a built-in simulated city
    channel that plays a slow endless session (for `docker compose up`). The database records that it
    holds simulated data (pulse.data_origin), so a later real run against it refuses."""
    from ingester.observability import configure_logging
    from ingester.redact import Redactor

    redactor = Redactor.from_settings(settings)
    configure_logging(settings.pulse_log_format, redactor)  # type: ignore[arg-type]

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with Simulator(SimConfig(seed=int(time.time()))) as sim:
            sim.start_scenario(Scenario(events=10**9, rate=float(os.environ.get("PULSE_SIMULATOR_RATE", "2"))))
            channel = ChannelSettings(
                name=settings.pulse_channel_name, base_url=sim.base_url, access_token=SecretStr(sim.token()),
                hashtags=tuple(settings.pulse_hashtags),
            )
            cfg = replace(ServiceConfig.from_settings_without_channels(settings), channels=(channel,),
                          origin="simulated")
            summary = await Service(cfg, settings.retention()).run(stop)
            print(f"ingester: {summary.line()}")

    try:
        asyncio.run(main())
    except Fatal as exc:
        print(f"ingester: {redactor.scrub(str(exc))}", file=sys.stderr)
        return 1
    return 0


def register(app: typer.Typer) -> None:
    app.command()(demo)
