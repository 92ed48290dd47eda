"""The first contact: every misconfiguration is ONE line naming the setting and what to do, with no
traceback and no part of a password, token or salt, in every output stream of every command."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import aiohttp
import psycopg
import pytest

from conftest import ROOT, _dsn_url
from e2e import cli, ingester_env, wait_for, with_port
from ingester.cli import EXIT_FAILURE, EXIT_OK, EXIT_SETTINGS
from ingester.migrate import MigrationError, extension_plan
from ingester.simulator import Simulator

LINE = re.compile(r"^ingester: [A-Z_]+(\[[^\]]*\])*: \S")


def secret() -> str:
    """A unique secret fragment: if any output holds it, it leaked."""
    return "S" + uuid.uuid4().hex[:12]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL", "GRAFANA"))}
    env.update(extra)
    return env


# Every command a deployer runs, with what it needs besides DATABASE_URL.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("migrate",),
    ("check",),
    ("run",),
    ("run", "--simulate"),
    ("demo", "--events", "10"),
    ("export", "posts", "--from", "2026-01-01", "--to", "2026-02-01"),
    ("grafana", "reader-login"),
)


def malformed(a: str, b: str) -> dict[str, str]:
    """DATABASE_URLs whose password breaks the URL; the password is a+X+b with two unique halves."""
    host = "127.0.0.1:5432/pulse"
    return {
        "bad %-escape": f"postgresql://pulse:{a}%zz{b}@{host}",
        "unescaped @": f"postgresql://pulse:{a}@{b}@{host}",
        "unescaped /": f"postgresql://pulse:{a}/{b}@{host}",
        "unescaped #": f"postgresql://pulse:{a}#{b}@{host}",
        "unescaped ?": f"postgresql://pulse:{a}?{b}@{host}",
    }


def assert_one_clean_line(code: int, out: str, err: str, *secrets: str) -> str:
    text = out + err
    assert "Traceback" not in text, text[-3000:]
    for s in secrets:
        assert s not in text, (s, text)
    assert code == EXIT_SETTINGS, (code, text)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and LINE.match(lines[0]), lines
    assert out.strip() == ""
    return lines[0]


@pytest.mark.parametrize("kind", list(malformed("a", "b")))
async def test_a_malformed_database_url_is_one_line_from_every_command_without_any_part_of_the_password(
    kind: str,
) -> None:
    a, b, salt, token = secret(), secret(), secret() * 2, secret()
    url = malformed(a, b)[kind]
    env = base_env(DATABASE_URL=url, PULSE_ACCOUNT_SALT=salt, MASTODON_BASE_URL="http://127.0.0.1:9",
                   MASTODON_ACCESS_TOKEN=token, PULSE_GRAFANA_DB_PASSWORD=secret() + "-grafana")
    results = await asyncio.gather(*(cli(env, *command) for command in COMMANDS))
    lines = {
        " ".join(command): assert_one_clean_line(code, out, err, a, b, salt, token, env["PULSE_GRAFANA_DB_PASSWORD"])
        for command, (code, out, err) in zip(COMMANDS, results, strict=True)
    }
    # check and migrate (and every other command) agree on what is wrong
    assert len(set(lines.values())) == 1, lines
    line = next(iter(lines.values()))
    assert line.startswith("ingester: DATABASE_URL: ") and "percent-encode" in line


async def test_an_unknown_sslmode_is_one_line_from_every_command_before_any_connection() -> None:
    a, salt = secret(), secret() * 2
    env = base_env(DATABASE_URL=f"postgresql://pulse:{a}@127.0.0.1:5432/pulse?sslmode=nonsense",
                   PULSE_ACCOUNT_SALT=salt, MASTODON_BASE_URL="http://127.0.0.1:9", MASTODON_ACCESS_TOKEN=secret(),
                   PULSE_GRAFANA_DB_PASSWORD=secret() + "-grafana")
    results = await asyncio.gather(*(cli(env, *command) for command in COMMANDS))
    for command, (code, out, err) in zip(COMMANDS, results, strict=True):
        line = assert_one_clean_line(code, out, err, a, salt)
        assert line == "ingester: DATABASE_URL: sslmode must be one of disable, allow, prefer, require, " \
                       "verify-ca, verify-full", (command, line)


async def test_a_url_parameter_the_driver_refuses_is_one_line_from_check_and_run(database_url: str, salt: str) -> None:
    url = database_url + ("&" if "?" in database_url else "?") + "target_session_attrs=bogus"
    env = base_env(DATABASE_URL=url, PULSE_ACCOUNT_SALT=salt, MASTODON_BASE_URL="http://127.0.0.1:9",
                   MASTODON_ACCESS_TOKEN=secret(), PULSE_METRICS_PORT="0")
    run, check = await asyncio.gather(cli(env, "run"), cli(env, "check"))
    want = "DATABASE_URL: a parameter after '?' in the URL has a value the driver does not accept"
    assert run[0] == EXIT_FAILURE and "Traceback" not in run[1] + run[2], run
    assert run[2].strip().splitlines() == [f"ingester: {want} — check the parameters"], run
    assert check[0] == EXIT_FAILURE and "Traceback" not in check[1] + check[2], check
    assert f"database: FAIL {want}" in check[1], check


async def test_a_malformed_channel_in_pulse_channels_is_one_line_without_the_token_or_password(
    database_url: str,
) -> None:
    a, token, salt = secret(), secret(), secret() * 2
    channels = json.dumps([{"name": "west", "base_url": f"https://city:{a}@{a}@social.example",
                            "access_token": token}])
    env = base_env(DATABASE_URL=database_url, PULSE_ACCOUNT_SALT=salt, PULSE_CHANNELS=channels)
    for command in (("run",), ("check",), ("run", "--simulate")):
        code, out, err = await cli(env, *command)
        line = assert_one_clean_line(code, out, err, a, token, salt)
        assert line.startswith("ingester: PULSE_CHANNELS[0][base_url]: "), line


async def test_every_settings_problem_is_reported_at_once_one_line_each() -> None:
    salt = secret()  # too short: refused without being echoed
    env = base_env(DATABASE_URL="postgresql://pulse:x@y@127.0.0.1/pulse", PULSE_ACCOUNT_SALT=salt,
                   MASTODON_BASE_URL="http://127.0.0.1:9", PULSE_TIMEZONE="Mars/Olympus")
    code, out, err = await cli(env, "run")
    assert code == EXIT_SETTINGS and out == "" and salt not in err and "Traceback" not in err
    assert all(LINE.match(line) for line in err.strip().splitlines()), err
    names = [line.split(":")[1].strip() for line in err.strip().splitlines()]
    assert sorted(names) == ["DATABASE_URL", "MASTODON_ACCESS_TOKEN", "PULSE_ACCOUNT_SALT", "PULSE_TIMEZONE"], err


async def test_a_server_without_a_token_is_named_with_what_to_do(database_url: str) -> None:
    env = base_env(DATABASE_URL=database_url, PULSE_ACCOUNT_SALT=secret() * 2, MASTODON_BASE_URL="https://social.example")
    for command in (("run",), ("run", "--simulate"), ("check",)):
        code, out, err = await cli(env, *command)
        line = assert_one_clean_line(code, out, err)
        assert line.startswith("ingester: MASTODON_ACCESS_TOKEN: missing (MASTODON_BASE_URL is set)"), line


# -- TimescaleDB available but not preloaded ------------------------------------------------------


def test_the_extension_plan_names_the_missing_preload_and_accepts_plain_postgresql_when_chosen() -> None:
    with pytest.raises(MigrationError, match="not preloaded — add shared_preload_libraries = 'timescaledb'"):
        extension_plan(available=True, installed=False, preloaded=False)
    assert extension_plan(available=True, installed=False, preloaded=False, wanted="postgres") is False
    assert extension_plan(available=True, installed=False, preloaded=True) is True
    assert extension_plan(available=False, installed=False, preloaded=None) is False
    with pytest.raises(MigrationError, match="PULSE_TIER=timescaledb but this PostgreSQL server has no TimescaleDB"):
        extension_plan(available=False, installed=False, preloaded=None, wanted="timescaledb")


@pytest.fixture
def unpreloaded_url(empty_database_url: str) -> Iterator[str]:
    """A plain-PostgreSQL database that LOOKS like a server with TimescaleDB installed but not preloaded:
    pg_available_extensions and pg_settings are shadowed for the sessions of this URL (search_path puts a
    schema before pg_catalog). No extension is installed anywhere."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shadow")
        conn.execute("""CREATE VIEW shadow.pg_available_extensions AS
                        SELECT 'timescaledb'::name AS name, '2.23.0'::text AS default_version""")
        conn.execute("""CREATE VIEW shadow.pg_settings AS
                        SELECT 'shared_preload_libraries'::text AS name, 'pg_stat_statements'::text AS setting""")
    yield empty_database_url + "?options=" + quote("-c search_path=shadow,pg_catalog,public", safe="")


async def test_timescaledb_available_but_not_preloaded_is_one_line_with_the_fix_from_migrate_and_check(
    unpreloaded_url: str, salt: str
) -> None:
    sim = Simulator()
    async with sim:
        env = ingester_env(unpreloaded_url, sim, salt)
        migrate = await cli(env, "migrate")
        check = await cli(env, "check")
    assert migrate[0] == EXIT_FAILURE and "Traceback" not in migrate[1] + migrate[2]
    want = ("TimescaleDB is installed on the server but not preloaded — add shared_preload_libraries = "
            "'timescaledb' to postgresql.conf and restart PostgreSQL, or set PULSE_TIER=postgres to use plain PostgreSQL")
    assert migrate[2].strip() == f"ingester: {want}"
    assert check[0] == EXIT_FAILURE and f"database: FAIL {want}" in check[1]


async def test_pulse_tier_postgres_chooses_plain_postgresql_explicitly(unpreloaded_url: str) -> None:
    code, out, err = await cli(base_env(DATABASE_URL=unpreloaded_url, PULSE_TIER="postgres"), "migrate")
    assert code == EXIT_OK, err
    assert out.startswith("database tier: plain PostgreSQL")


# -- unreachable servers, ports, health -----------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_check_gives_up_on_a_silent_mastodon_server_within_seconds_with_one_line(
    database_url: str, salt: str
) -> None:
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        env = base_env(DATABASE_URL=database_url, PULSE_ACCOUNT_SALT=salt,
                       MASTODON_BASE_URL=f"http://127.0.0.1:{silent.getsockname()[1]}", MASTODON_ACCESS_TOKEN=secret())
        started = time.monotonic()
        code, out, err = await cli(env, "check")
        took = time.monotonic() - started
    finally:
        silent.close()
    assert code == EXIT_FAILURE and took < 10, took
    failing = [line for line in out.splitlines() if "FAIL" in line]
    assert len(failing) == 1 and "server unreachable" in failing[0] and "MASTODON_BASE_URL" in failing[0], out
    assert err.strip() == ""  # no retry warnings


async def test_healthz_answers_503_with_the_reason_while_the_service_waits_for_the_database(salt: str) -> None:
    port = closed_port()
    env = base_env(DATABASE_URL=with_port(_dsn_url("pulse"), closed_port()), PULSE_ACCOUNT_SALT=salt,
                   MASTODON_BASE_URL="http://127.0.0.1:9", MASTODON_ACCESS_TOKEN=secret(),
                   PULSE_METRICS_PORT=str(port), PULSE_LOG_FORMAT="json")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ingester", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    answer: dict[str, object] = {}

    async def probe() -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                answer.update(status=resp.status, body=await resp.json())
                return True
        except aiohttp.ClientError:
            return False

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not await probe():
            await asyncio.sleep(0.2)
    finally:
        proc.terminate()
        code = await asyncio.wait_for(proc.wait(), 30)
    assert answer.get("status") == 503, answer
    reasons = answer["body"]["reasons"]  # type: ignore[index]
    assert len(reasons) == 1 and reasons[0].startswith("waiting for the database (DATABASE_URL)"), reasons
    assert code == EXIT_OK  # SIGTERM while waiting ends cleanly


async def test_a_metrics_port_in_use_is_one_line_naming_the_setting(database_url: str, salt: str) -> None:
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen(1)
    try:
        env = base_env(DATABASE_URL=database_url, PULSE_ACCOUNT_SALT=salt, MASTODON_BASE_URL="http://127.0.0.1:9",
                       MASTODON_ACCESS_TOKEN=secret(), PULSE_METRICS_PORT=str(busy.getsockname()[1]))
        code, out, err = await cli(env, "run")
    finally:
        busy.close()
    assert code == EXIT_FAILURE and "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ingester: PULSE_METRICS_PORT: cannot listen on"), err
    assert "choose a free port" in lines[0]


async def test_export_says_why_it_cannot_connect() -> None:
    env = base_env(DATABASE_URL=with_port(_dsn_url("pulse"), closed_port()))
    code, out, err = await cli(env, "export", "posts", "--from", "2026-01-01", "--to", "2026-02-01")
    assert code == EXIT_FAILURE and out == ""
    assert err.strip() == ("ingester: DATABASE_URL: the server refused the connection — check the host and port, "
                           "and that PostgreSQL is running")


# -- PULSE_FORMATS, version, exit codes ----------------------------------------------------------


async def test_run_applies_pulse_formats_as_migrate_does(database_url: str, salt: str) -> None:
    async with Simulator() as sim:
        env = ingester_env(database_url, sim, salt, PULSE_FORMATS="Spreekuur=qa,Wijkvraag=city_question")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ingester", "run", env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

        def formats() -> list[tuple[str, str]]:
            with psycopg.connect(database_url) as conn:
                return conn.execute("SELECT tag, format FROM pulse.formats ORDER BY precedence").fetchall()

        try:
            applied = await wait_for(lambda: formats() == [("spreekuur", "qa"), ("wijkvraag", "city_question")], 30)
        finally:
            proc.terminate()
            await proc.wait()
    assert applied, formats()


async def test_version_prints_the_installed_version() -> None:
    code, out, _ = await cli(base_env(), "--version")
    from importlib.metadata import version

    assert code == 0 and out.strip() == f"ingester (praatmee-pulse) {version('praatmee-pulse')}"


def test_the_readme_documents_the_exit_codes_the_commands_use() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\d)` \| (.+?) \|$", section, re.M))
    assert set(rows) == {str(EXIT_OK), str(EXIT_FAILURE), str(EXIT_SETTINGS)}, rows
    assert "setting" in rows[str(EXIT_SETTINGS)]


@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgres://pulse:p%40ss%2Fw%3Ard%23%25@db.example:5432/pulse?sslmode=require",
    "postgresql://pulse:pa:ss@db:5432/pulse",  # ':' after the first one belongs to the password (RFC 3986)
    "postgresql://pulse:pw@[::1]:5432/pulse",
    "postgresql://pulse:pw@h1:5432,h2:5433/pulse?target_session_attrs=read-write",
    "postgresql:///pulse?host=/var/run/postgresql",
    "postgresql://pulse:pw@db.example/pulse?sslmode=verify-full",
])
def test_well_formed_database_urls_are_accepted(url: str) -> None:
    from ingester.dsn import dsn_problem

    assert dsn_problem(url) is None
