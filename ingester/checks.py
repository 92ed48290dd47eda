"""`ingester check`: one line per check, each naming what it tested; never prints a secret."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import asyncpg
import websockets
from websockets.exceptions import InvalidStatus

from ingester.migrate import EXTENSION_STATE_SQL, MigrationError, connect_failure, plan_from_state
from ingester.redact import Redactor
from ingester.settings import ChannelSettings, Settings
from ingester.sources.rest import MastodonRest, RestFatal, RestUnavailable
from ingester.sources.stream import StreamConfig

Echo = Callable[[str], None]


async def _check_database(dsn: str, tier: str = "auto") -> tuple[bool, str]:
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.ClientConfigurationError) as exc:
        return False, f"database: FAIL DATABASE_URL: {connect_failure(exc)}"
    try:
        # The same verdict as `ingester migrate` on the TimescaleDB extension (ingester.migrate.extension_plan).
        try:
            plan_from_state(await conn.fetchrow(EXTENSION_STATE_SQL), tier)  # type: ignore[arg-type]
        except MigrationError as exc:
            return False, f"database: FAIL {exc}"
        ext = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        licence = await conn.fetchval("SELECT current_setting('timescaledb.license', true)")
        server = await conn.fetchval("SHOW server_version")
        migrated = await conn.fetchval("SELECT to_regclass('pulse.schema_migrations') IS NOT NULL")
        n = await conn.fetchval("SELECT count(*) FROM pulse.schema_migrations") if migrated else 0
    finally:
        await conn.close()
    tier = (
        f"full TimescaleDB {ext}" if ext and licence == "timescale"
        else f"Apache-only TimescaleDB {ext}" if ext
        else "plain PostgreSQL"
    )
    if not migrated:
        return False, f"database: FAIL {tier} {server.split()[0]} reachable but not migrated (run `ingester migrate`)"
    return True, f"database: ok ({tier}, PostgreSQL {server.split()[0]}, {n} migrations applied)"


async def _check_channel(ch: ChannelSettings) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    # One attempt with short timeouts: `check` answers within seconds; the service is the one that retries.
    rest = MastodonRest(ch.api_base, ch.access_token, request_timeout=4.0, max_attempts=1)
    try:
        me = await asyncio.wait_for(rest.verify_credentials(), timeout=5)
        out.append((True, f"token [{ch.name}]: ok (@{me.get('acct')} on {ch.api_base})"))
    except RestFatal as exc:
        return [(False, f"token [{ch.name}]: FAIL {exc}")]
    except (RestUnavailable, asyncio.TimeoutError, OSError) as exc:
        return [(False, f"token [{ch.name}]: FAIL server unreachable ({type(exc).__name__}) — check the server's "
                        "URL (MASTODON_BASE_URL or PULSE_CHANNELS) and the network")]
    streaming = await rest.streaming_base()
    cfg = StreamConfig(streaming, ch.access_token)
    health = cfg.endpoint().replace("ws://", "http://").replace("wss://", "https://") + "/health"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=4)) as http:
            async with http.get(health) as resp:
                body = (await resp.text()).strip()
        good = resp.status == 200
        out.append((good, f"streaming health [{ch.name}]: {'ok' if good else 'FAIL'} ({resp.status} {body[:20]!r} at {health})"))
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        out.append((False, f"streaming health [{ch.name}]: FAIL unreachable ({type(exc).__name__})"))
    try:
        async with websockets.connect(
            cfg.endpoint(),
            additional_headers={"Authorization": f"Bearer {ch.access_token.get_secret_value()}"},
            open_timeout=4,
        ):
            out.append((True, f"streaming token [{ch.name}]: ok (upgrade accepted at {cfg.endpoint()})"))
    except InvalidStatus as exc:
        msg = exc.response.headers.get("X-Error-Message", "")
        out.append((False, f"streaming token [{ch.name}]: FAIL upgrade refused ({exc.response.status_code} {msg})"))
    except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as exc:
        out.append((False, f"streaming token [{ch.name}]: FAIL unreachable ({type(exc).__name__})"))
    return out


async def run_checks(settings: Settings, echo: Echo) -> bool:
    results = [(True, f"settings: ok ({len(settings.channels())} channel(s), timezone {settings.pulse_timezone})")]
    results.append(await _check_database(settings.dsn(), settings.pulse_tier))
    for ch in settings.channels():
        results.extend(await _check_channel(ch))
    redactor = Redactor.from_settings(settings)  # the same scrubber as the logs, not a second one
    for _, line in results:
        echo(redactor.scrub(line))
    return all(ok for ok, _ in results)
