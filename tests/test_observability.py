"""Redaction of secrets, structured logging, Prometheus metrics and the health endpoint."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import quote

import aiohttp
import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import MASTODON, corpus
from ingester.observability import HealthState, Metrics, bound_port, configure_logging, serve_metrics
from ingester.redact import MASK, Redactor, password_of
from ingester.settings import Settings

TOKEN = "Zq8-tok_EN+/secret=value&more"  # characters that change under URL and JSON encoding
PASSWORD = "p@ss:w/rd é"
SALT = "salt-placeholder-tests1"
REDACTOR = Redactor([TOKEN, PASSWORD, SALT])


# -- Redactor ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [TOKEN, quote(TOKEN, safe=""), json.dumps(TOKEN)[1:-1], repr(TOKEN)[1:-1]],
    ids=["plain", "url-encoded", "json-escaped", "repr"],
)
def test_a_known_token_is_masked_in_every_spelling(spelling: str) -> None:
    out = REDACTOR.scrub(f"GET /api/v1/notifications token={spelling} failed")
    assert spelling not in out and MASK in out


def test_a_bearer_header_is_masked_even_for_a_token_nobody_declared() -> None:
    out = Redactor().scrub("Authorization: Bearer UNKNOWN-token.value_123~ sent")
    assert "UNKNOWN" not in out and out == f"Authorization: Bearer {MASK} sent"


@corpus
def test_the_legacy_access_token_query_parameter_is_masked() -> None:
    # The real connect URL list in shared/mastodon shows the legacy `?access_token=` form.
    lines = (MASTODON / "streaming" / "websocket" / "client" / "connect-urls.txt").read_text().splitlines()
    legacy = next(line.split()[0] for line in lines if "access_token=" in line)
    out = Redactor().scrub(legacy)
    assert "access_token=TOKEN" not in out and out.endswith(f"access_token={MASK}")


def test_the_password_of_any_postgres_url_is_masked_and_the_rest_kept() -> None:
    out = Redactor().scrub("connect postgresql://pulse:hunter2xyz@db:5432/pulse refused")
    assert out == f"connect postgresql://pulse:{MASK}@db:5432/pulse refused"


def test_a_known_database_password_is_found_inside_its_url_encoded_dsn() -> None:
    dsn = f"postgresql://pulse:{quote(PASSWORD, safe='')}@db/pulse"
    assert password_of(dsn) == PASSWORD
    out = REDACTOR.scrub(f"dsn={dsn} and raw {PASSWORD}")
    assert PASSWORD not in out and quote(PASSWORD, safe="") not in out


def test_secrets_inside_nested_values_and_exceptions_are_masked() -> None:
    value = {"headers": [("Authorization", f"Bearer {TOKEN}")], "err": ValueError(f"salt {SALT}")}
    flat = json.dumps(REDACTOR.scrub_value(value))
    assert TOKEN not in flat and SALT not in flat and "ValueError: salt" in flat


def test_the_redactor_never_shows_its_secrets_in_its_repr() -> None:
    assert repr(REDACTOR) == "Redactor(3 secrets)"


def test_very_short_secrets_are_left_to_the_generic_shapes() -> None:
    short = Redactor(["ab"])
    assert short.scrub("table abc") == "table abc"
    assert short.scrub("postgresql://u:ab@h/d") == f"postgresql://u:{MASK}@h/d"


def test_from_settings_collects_every_token_the_password_and_the_salt() -> None:
    s = Settings(
        database_url=f"postgresql://pulse:{quote(PASSWORD, safe='')}@db/pulse",
        pulse_account_salt=SALT,
        mastodon_base_url="https://social.example",
        mastodon_access_token=TOKEN,
        pulse_channels=json.dumps(
            [{"name": "second", "base_url": "https://other.example", "access_token": "second-channel-token"}]
        ),
    )
    r = Redactor.from_settings(s)
    out = r.scrub(f"{TOKEN} {PASSWORD} {SALT} second-channel-token")
    assert out == " ".join([MASK] * 4)


_no_brackets = st.text(min_size=4, max_size=40).filter(lambda s: "[" not in s and "]" not in s)


@settings(max_examples=300, deadline=None)
@given(secret=_no_brackets, before=st.text(max_size=60), after=st.text(max_size=60))
def test_no_secret_survives_scrubbing_whatever_surrounds_it(secret: str, before: str, after: str) -> None:
    out = Redactor([secret]).scrub(before + secret + after)
    assert secret not in out


# -- logging -----------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


class _Terminal(io.StringIO):
    """A stream that says it is a terminal (an injected boundary, not a patch)."""

    def isatty(self) -> bool:
        return True


def test_every_log_path_writes_json_lines_without_secrets(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", REDACTOR, stream=out)
    log = structlog.get_logger("pulse.test")
    log.info("connecting", url=f"wss://s.example/api/v1/streaming?access_token={TOKEN}", dsn_password=PASSWORD)
    log.warning("nested", detail={"salt": [SALT]}, obj=ValueError(TOKEN))
    logging.getLogger("asyncpg").error("cannot connect to %s", f"postgresql://u:{quote(PASSWORD, safe='')}@h/d")
    try:
        raise RuntimeError(f"401 for token {TOKEN}")
    except RuntimeError:
        log.exception("request_failed")
        logging.getLogger("websockets").exception("stdlib traceback")
    text = out.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["event"] for line in lines[:2]] == ["connecting", "nested"]
    assert lines[2]["event"] == f"cannot connect to postgresql://u:{MASK}@h/d"
    assert len(lines) == 5 and all("timestamp" in line and "level" in line for line in lines)
    assert "RuntimeError" in lines[3]["exception"] and "RuntimeError" in lines[4]["exception"]
    for secret in (TOKEN, PASSWORD, SALT, quote(TOKEN, safe=""), quote(PASSWORD, safe="")):
        assert secret not in text


def test_auto_format_is_json_off_a_terminal_and_console_on_one(restore_logging: None) -> None:
    piped, tty = io.StringIO(), _Terminal()
    configure_logging("auto", REDACTOR, stream=piped)
    structlog.get_logger().info("hello", n=1)
    configure_logging("auto", REDACTOR, stream=tty)
    structlog.get_logger().info("hello", n=1)
    assert json.loads(piped.getvalue())["n"] == 1
    assert "hello" in tty.getvalue() and not tty.getvalue().lstrip().startswith("{")


def test_reconfiguring_replaces_the_handler_instead_of_doubling_lines(restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging("json", REDACTOR, stream=out)
    configure_logging("json", REDACTOR, stream=out)
    structlog.get_logger().info("once")
    assert len(out.getvalue().splitlines()) == 1


def test_an_unknown_log_format_names_the_setting() -> None:
    with pytest.raises(ValueError, match="PULSE_LOG_FORMAT"):
        configure_logging("xml", REDACTOR)  # type: ignore[arg-type]


# -- metrics and health over a real socket -----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
            return resp.status, await resp.text()


async def test_metrics_endpoint_exposes_every_counter_the_service_records() -> None:
    clock = Clock()
    m = Metrics(clock=clock)
    occurred = datetime.fromtimestamp(clock.now - 2.0, tz=timezone.utc)
    m.event_written("main", "favourite", occurred)
    m.event_written("main", "favourite", occurred)
    m.event_written("main", "reply")
    m.reconnected("main")
    m.catchup_run("main")
    m.catchup_page("main")
    m.catchup_page("main")
    m.dead_letter("main")
    m.set_spool_depth(memory=7, disk=1200)
    m.set_ratelimit_remaining("main", 287)
    m.set_stream_connected("main", True)
    m.retention_applied({"reply_text_purged": 5})
    m.set_thread_schedule("main", 150, datetime.fromtimestamp(1_760_000_000, tz=timezone.utc))
    m.threads_polled("main", 3)
    runner = await serve_metrics(m, 0, host="127.0.0.1")
    try:
        status, body = await get(bound_port(runner), "/metrics")
    finally:
        await runner.cleanup()
    assert status == 200
    for sample in (
        'pulse_events_total{channel="main",kind="favourite"} 2.0',
        'pulse_events_total{channel="main",kind="reply"} 1.0',
        'pulse_ingest_lag_seconds_count{channel="main"} 2.0',
        'pulse_ingest_lag_seconds_sum{channel="main"} 4.0',
        'pulse_stream_reconnects_total{channel="main"} 1.0',
        'pulse_catchup_runs_total{channel="main"} 1.0',
        'pulse_catchup_pages_total{channel="main"} 2.0',
        'pulse_dead_letters_total{channel="main"} 1.0',
        'pulse_spool_depth{where="memory"} 7.0',
        'pulse_spool_depth{where="disk"} 1200.0',
        'pulse_ratelimit_remaining{channel="main"} 287.0',
        'pulse_stream_connected{channel="main"} 1.0',
        f'pulse_last_event_timestamp_seconds{{channel="main"}} {clock.now - 2.0:.1f}',
        'pulse_retention_rows_total{what="reply_text_purged"} 5.0',
        'pulse_thread_schedule_posts{channel="main"} 150.0',
        'pulse_thread_polls_total{channel="main"} 3.0',
        'pulse_thread_schedule_oldest_post_timestamp_seconds{channel="main"} 1.76e+09',
    ):
        assert sample in body, sample


async def test_health_is_200_while_streaming_and_writing_and_503_with_reasons_otherwise() -> None:
    clock = Clock()
    m = Metrics(clock=clock, db_stale_after=60)
    m.set_stream_connected("main", True)
    m.db_write_ok()
    runner = await serve_metrics(m, 0, host="127.0.0.1")
    port = bound_port(runner)
    try:
        status, body = await get(port, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"

        m.set_stream_connected("main", False)
        m.set_catching_up("main", True)  # catching up over REST still counts as working
        clock.now += 30
        assert (await get(port, "/healthz"))[0] == 200

        m.set_catching_up("main", False)
        clock.now += 31  # and the database has not taken a write for 61 s
        status, body = await get(port, "/healthz")
        doc = json.loads(body)
        assert status == 503 and doc["status"] == "unhealthy"
        assert doc["reasons"] == [
            "main: stream disconnected and not catching up",
            "database: last successful write 61s ago",
        ]

        m.set_stream_connected("main", True)
        m.db_write_ok()
        assert (await get(port, "/healthz"))[0] == 200
    finally:
        await runner.cleanup()


async def test_a_fresh_service_is_healthy_only_during_its_start_up_grace() -> None:
    clock = Clock()
    m = Metrics(clock=clock, db_stale_after=60)
    assert m.health().healthy
    clock.now += 61
    state = m.health()
    assert not state.healthy
    assert any(r.startswith("database: no successful write") for r in state.reasons)


async def test_a_failing_health_check_answers_503_without_its_message() -> None:
    def broken() -> HealthState:
        raise RuntimeError(f"secret {TOKEN}")

    runner = await serve_metrics(Metrics(), 0, broken, host="127.0.0.1")
    try:
        status, body = await get(bound_port(runner), "/healthz")
    finally:
        await runner.cleanup()
    assert status == 503 and TOKEN not in body
    assert json.loads(body)["reasons"] == ["health check failed: RuntimeError"]


async def test_a_taken_port_gives_an_error_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="PULSE_METRICS_PORT"):
            await serve_metrics(Metrics(), taken.getsockname()[1], host="127.0.0.1")


def test_two_metrics_objects_live_side_by_side() -> None:
    a, b = Metrics(), Metrics()
    a.dead_letter("main")
    assert b'pulse_dead_letters_total{channel="main"} 1.0' in a.exposition()
    assert b"pulse_dead_letters_total{" not in b.exposition()
