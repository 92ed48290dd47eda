"""Secrets never leak: no access token, database password or account salt in any output or stored row.

Known secrets are planted (the channel's token, a revoked token, a narrow-scope token, the password of a
login role made for the test, the salt) and every error path is driven through a real `ingester`
process: rejected and narrow tokens, an unreachable Mastodon, a wrong password and an unreachable
database, a streaming upgrade refused with 401, bursts of 5xx and 429, invalid settings, hostile frames
that become dead letters, `check`, JSON and console logs. Each secret is searched for as written and in
its URL-encoded spellings, in stdout, stderr and logs, and in every row of every table in schema pulse.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import asyncpg
import psycopg
import pytest

from conftest import admin_url
from e2e import Ingester, cli, db_address, dump_pulse, ingester_env, log_records, reap, wait_for, with_port
from pgauth import RejectingPostgres
from ingester.simulator import ChannelSpec, RateLimits, Scenario, SimConfig, Simulator, TokenSpec
from ingester.simulator.auth import Grant

pytestmark = pytest.mark.slow

TOKEN = "tok-KNOWN-secret-3f9a1c7e5b2d8a4f"  # the channel's good token
REVOKED = "tok-KNOWN-revoked-8e2b6d4f1a9c3e7b"  # unknown to the server: 401
NARROW = "tok-KNOWN-narrow-5c1e9a3f7b2d6e8a"  # read:notifications only: 403 on verify_credentials
PASSWORD = "pw-KNOWN-secret/:@%9 x"  # characters that must be URL-encoded inside DATABASE_URL
SALT = "salt-KNOWN-6a2c8e4f0b7d"
SECRETS = (TOKEN, REVOKED, NARROW, PASSWORD, SALT)


def spellings(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret)}


def leaks(text: str) -> list[str]:
    """The spellings of known secrets found in `text` (empty when nothing leaked)."""
    return sorted(form for s in SECRETS for form in spellings(s) if form in text)


class RevocableSimulator(Simulator):
    """A simulator whose tokens can be revoked while the ingester runs (REST and streaming refuse them)."""

    revoked: set[str]

    def grant(self, token: str) -> Grant | None:
        return None if token in getattr(self, "revoked", set()) else super().grant(token)


@pytest.fixture
async def sim() -> AsyncIterator[RevocableSimulator]:
    cfg = SimConfig(
        channels=(ChannelSpec(token=TOKEN),),
        extra_tokens=(TokenSpec(token=NARROW, channel="main", scopes=("read:notifications",)),),
        rate_limits=RateLimits(api_limit=1_000_000, paging_limit=1_000_000),
        ping_interval=2.0,
    )
    async with RevocableSimulator(cfg) as s:
        s.revoked = set()
        yield s


@pytest.fixture
def login_url(database_url: str) -> Iterator[str]:
    """DATABASE_URL of a login role with the known password, a member of pulse_writer (as in production)."""
    role = f"pulse_secret_{uuid.uuid4().hex[:10]}"
    dbname = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}' IN ROLE pulse_writer")
        conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{dbname}" TO {role}')
    host, port = db_address(database_url)
    try:
        yield f"postgresql://{role}:{quote(PASSWORD, safe='')}@{host}:{port}/{dbname}"
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')  # drops its grants with it
            conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Callable[[dict[str, str]], Ingester]]:
    """Make `ingester run` processes (logging to tmp_path); any still running at teardown is killed."""
    made: list[Ingester] = []

    def make(env: dict[str, str]) -> Ingester:
        made.append(Ingester(env, tmp_path / f"ingester-{len(made)}.log"))
        return made[-1]

    yield make
    for ingester in made:
        await reap(ingester)


def _count(ingester: Ingester, event: str) -> int:
    return sum(r.get("event") == event for r in log_records(ingester.output()))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(login_url: str, sim: Simulator, **extra: str) -> dict[str, str]:
    return ingester_env(login_url, sim, SALT, **extra)


async def _stored_leaks(database_url: str) -> list[str]:
    return leaks(await dump_pulse(database_url))


# -- settings ------------------------------------------------------------------------------------


INVALID = {
    "DATABASE_URL": f"mysql://pulse:{quote(PASSWORD, safe='')}@db/pulse",
    "PULSE_ACCOUNT_SALT": "short",
    "MASTODON_BASE_URL": f"not a url {TOKEN}",
    "PULSE_CHANNELS": f'[{{"name": "Bad Name", "base_url": "https://x.example", "access_token": "{TOKEN}"}}]',
    "PULSE_BATCH_SIZE": TOKEN,
    "PULSE_LOG_FORMAT": TOKEN,
}


@pytest.mark.parametrize("variable", sorted(INVALID))
async def test_an_invalid_setting_is_one_line_naming_the_variable_without_its_value(
    variable: str, sim: Simulator, login_url: str
) -> None:
    env = _env(login_url, sim, **{variable: INVALID[variable]})
    code, out, err = await cli(env, "run")
    assert code == 2
    assert err.strip().count("\n") == 0 and err.startswith(f"ingester: {variable}"), err
    assert leaks(out + err) == []


async def test_check_with_invalid_settings_prints_no_secret(sim: Simulator, login_url: str) -> None:
    env = _env(login_url, sim, PULSE_CHANNELS=f'{{not json "{TOKEN}"', DATABASE_URL=f"{login_url}?sslmode=nonsense")
    code, out, err = await cli(env, "check")
    assert code == 2 and "PULSE_CHANNELS" in err
    assert leaks(out + err) == []


# -- tokens --------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize(("token", "status"), [(REVOKED, "401"), (NARROW, "403")])
async def test_a_refused_token_fails_without_printing_any_secret(
    command: str, token: str, status: str, sim: Simulator, login_url: str, database_url: str
) -> None:
    code, out, err = await cli(_env(login_url, sim, MASTODON_ACCESS_TOKEN=token), command)
    assert code != 0
    assert status in out + err and "MASTODON_ACCESS_TOKEN" in out + err
    assert leaks(out + err) == []
    assert await _stored_leaks(database_url) == []


async def test_a_streaming_upgrade_refused_with_401_stops_the_run_without_printing_the_token(
    sim: RevocableSimulator, login_url: str, database_url: str, spawn: Callable[[dict[str, str]], Ingester]
) -> None:
    # No periodic REST catch-up: after the revocation the first request is the streaming upgrade.
    ingester = spawn(_env(login_url, sim, PULSE_RECONCILE_SECONDS="600"))
    await ingester.start()
    assert await wait_for(lambda: sim.progress()["open_sockets"] >= 1, 60), ingester.output()
    # ... and once the start-up catch-up is over (on a slow machine it may outlast the socket's opening).
    assert await wait_for(lambda: "catch-up done" in ingester.output(), 60), ingester.output()
    sim.revoked.add(TOKEN)
    sim.faults.drop_all()
    assert ingester.proc is not None
    code = await asyncio.wait_for(ingester.proc.wait(), 60)
    out = ingester.output()
    assert code == 1, out[-2000:]  # a runtime failure (README: exit codes)
    assert "streaming server refused the token (401" in out
    assert leaks(out) == []
    assert await _stored_leaks(database_url) == []


# -- unreachable servers -------------------------------------------------------------------------


async def test_an_unreachable_mastodon_is_retried_and_logged_without_secrets(
    sim: Simulator, login_url: str, spawn: Callable[[dict[str, str]], Ingester]
) -> None:
    env = _env(login_url, sim, MASTODON_BASE_URL=f"http://127.0.0.1:{_closed_port()}")
    ingester = spawn(env)
    await ingester.start()
    assert await wait_for(lambda: _count(ingester, "mastodon unreachable, retrying") >= 2, 60), ingester.output()
    assert await ingester.stop() == 0
    code, out, err = await cli(env, "check")
    assert code == 1 and "FAIL server unreachable" in out
    assert leaks(ingester.output() + out + err) == []


async def test_an_unreachable_database_is_retried_and_reported_without_the_password(
    sim: Simulator, login_url: str, spawn: Callable[[dict[str, str]], Ingester]
) -> None:
    env = _env(with_port(login_url, _closed_port()), sim)
    ingester = spawn(env)
    await ingester.start()
    assert await wait_for(lambda: _count(ingester, "database unreachable, retrying") >= 2, 60), ingester.output()
    assert await ingester.stop() == 0, ingester.output()[-2000:]  # SIGTERM ends the wait for the database
    code, out, err = await cli(env, "check")
    assert code == 1 and "database: FAIL DATABASE_URL: the server refused the connection" in out
    assert leaks(ingester.output() + out + err) == []


async def _password_checked(login_url: str) -> bool:
    """Whether the server checks this role's password at all (pg_hba.conf `trust` lets any password in)."""
    wrong = login_url.replace(quote(PASSWORD, safe=""), "not-the-password", 1)
    try:
        conn = await asyncpg.connect(wrong, timeout=10)
    except asyncpg.InvalidPasswordError:
        return True
    await conn.close()
    return False


async def test_a_wrong_database_password_stops_the_run_without_printing_either_password(
    sim: Simulator, login_url: str
) -> None:
    wrong_pw = "pw-KNOWN-wrong/:@%1"
    wrong = login_url.replace(quote(PASSWORD, safe=""), quote(wrong_pw, safe=""), 1)
    stand_in = None
    if not await _password_checked(login_url):
        # This server trusts local connections (pg_hba.conf): ask one that checks passwords instead.
        stand_in = RejectingPostgres()
        wrong = with_port(wrong, await stand_in.start())
    try:
        env = _env(wrong, sim)
        run = await cli(env, "run")
        check = await cli(env, "check")
    finally:
        if stand_in is not None:
            await stand_in.close()
    assert run[0] == 1 and "DATABASE_URL: the database rejected the user name or password" in run[2], run
    assert check[0] == 1 and "database: FAIL DATABASE_URL: the database rejected the user name or password" in check[1], check
    assert stand_in is None or stand_in.attempts >= 2  # both commands really sent a password
    text = "".join(run[1:] + check[1:])
    assert leaks(text) == [] and not any(form in text for form in spellings(wrong_pw))


# -- a working session through faults, both log formats -------------------------------------------


HOSTILE = (
    ("notification", '{"id": "9", "type": "mention", "status": 17, "account": "nobody"}'),
    ("update", '{"id": "x", "content": ['),
    ("status.update", '{"id": "12", "created_at": "yesterday", "account": {"id": 5}}'),
)


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_a_session_through_rest_failures_and_hostile_frames_leaks_nothing(
    log_format: str, sim: Simulator, login_url: str, database_url: str, spawn: Callable[[dict[str, str]], Ingester]
) -> None:
    ingester = spawn(_env(login_url, sim, PULSE_LOG_FORMAT=log_format))
    await ingester.start()
    if True:
        assert await wait_for(lambda: sim.progress()["open_sockets"] >= 1, 60), ingester.output()
        channel = sim.channel_ids["main"]

        async def hostile_frames_stored() -> bool:
            # Published until stored: a frame sent before the subscription is processed reaches nobody.
            for event, payload in HOSTILE:
                sim.hub.publish(("user", channel), event, payload)
            return await _dead_letters(database_url)

        assert await wait_for(hostile_frames_stored, 30, every=0.5), ingester.output()[-2000:]
        play = sim.start_scenario(Scenario(events=300, rate=150, seed=5))
        sim.faults.fail_rest(503, count=4)
        sim.faults.drop_all()  # a gap: the catch-up meets the failures
        assert await wait_for(lambda: sim.faults.snapshot().get("rest_503", 0) >= 4, 30)
        await play
        # A 429 without Retry-After: the ingester sleeps until X-RateLimit-Reset (minutes away here).
        sim.faults.fail_rest(429, count=1)
        sim.faults.drop_all()
        assert await wait_for(lambda: "rate limited (429)" in ingester.output(), 30), ingester.output()[-2000:]
        assert await wait_for(lambda: _rows(database_url, "heartbeats"), 30)  # so that the dump holds one
    code = await ingester.stop()
    out = ingester.output()
    assert code == 0, out[-2000:]
    assert "rate limited (429)" in out and "mastodon unreachable, retrying" in out
    assert leaks(out) == []
    stored = await dump_pulse(database_url)
    assert "dead_letters: " in stored and "heartbeats: " in stored  # the dump covers them
    assert leaks(stored) == []
    code, check_out, check_err = await cli(_env(login_url, sim), "check")
    assert code == 0, check_out + check_err
    assert leaks(check_out + check_err) == []


async def _rows(database_url: str, table: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM pulse.{table}"))
    finally:
        await conn.close()


async def _dead_letters(database_url: str) -> bool:
    return await _rows(database_url, "dead_letters") > 0
