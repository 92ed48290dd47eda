"""Sources without tracking: `?bron=` counted per local day and source, bounded, counts only.

The burst test runs `ingester web` as its own process and drives it over a real socket with a real
aiohttp client, then reads the counts back from kpi.entry_daily and searches every text column of
every table, and the process's own output, for the client's address and user agent."""

from __future__ import annotations

import asyncio
import random
import signal
import string
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import psycopg
import pytest
from web_helpers import Store
from web_helpers import start_web as web_process

from ingester.entrylink import SourceError, check_source
from ingester.web.counters import DIRECT, UNKNOWN, EntryCounters, SourcePolicy

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 12, 7)


def test_a_known_list_counts_only_its_codes_and_everything_else_as_onbekend() -> None:
    p = SourcePolicy(known=("bibliotheek-oost", "tram-5"))
    assert p.admit("bibliotheek-oost", DAY) == "bibliotheek-oost"
    assert p.admit("Bibliotheek-Oost ", DAY) == "bibliotheek-oost"
    assert p.admit("bibliotheek-west", DAY) == UNKNOWN
    assert p.admit(None, DAY) == DIRECT and p.admit("", DAY) == DIRECT
    assert p.admit("sms", DAY) == "sms" and p.admit("whatsapp", DAY) == "whatsapp"


@pytest.mark.parametrize("code", ["<script>", "a" * 41, "'; DROP TABLE pulse.entry_counts; --", "../etc/passwd",
                                  "bibliotheek oost", "-start", "end-", "a--b", "ä-straat", "a\x00b", "A_B", "%00"])
def test_a_code_no_poster_could_carry_counts_as_onbekend(code: str) -> None:
    with pytest.raises(SourceError):  # `ingester qr --bron` refuses it too: one rule for both
        check_source(code)
    assert SourcePolicy().admit(code, DAY) == UNKNOWN


def test_without_a_list_at_most_the_cap_of_distinct_codes_a_day_get_their_own_row() -> None:
    p = SourcePolicy(cap=3)
    assert [p.admit(c, DAY) for c in ("a", "b", "c", "d", "a", "e")] == ["a", "b", "c", UNKNOWN, "a", UNKNOWN]
    assert p.admit("d", date(2026, 12, 8)) == "d"  # a new day, a new allowance


def test_counts_are_per_local_day_in_the_configured_timezone() -> None:
    late = datetime(2026, 12, 7, 23, 30, tzinfo=timezone.utc)  # 00:30 on the 8th in Amsterdam
    c = EntryCounters("Europe/Amsterdam", clock=lambda: late)
    c.add("page_view", "tram-5")
    assert list(c.pending()) == [(date(2026, 12, 8), "tram-5", "page_view")]


def test_only_the_five_kinds_are_counted() -> None:
    c = EntryCounters()
    for kind in ("page_view", "signup_click", "reply_click", "keyword_sms", "keyword_whatsapp"):
        c.add(kind, "sms")
    with pytest.raises(ValueError):
        c.add("visitor_ip", "x")
    assert len(c.pending()) == 5


async def test_a_flush_adds_to_the_stored_counts_and_a_failed_one_keeps_them(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    c = EntryCounters(clock=lambda: datetime(2026, 12, 7, 12, tzinfo=timezone.utc))
    for _ in range(3):
        c.add("page_view", "tram-5")
    assert await c.flush(pool) == 3
    c.add("page_view", "tram-5")
    assert await c.flush(pool) == 1
    rows = await pool.fetch("SELECT day, source, page_views FROM kpi.entry_daily")
    assert [tuple(r) for r in rows] == [(DAY, "tram-5", 4)]
    await pool.close()
    c.add("signup_click", "tram-5")
    assert await c.flush(pool) == 0 and sum(c.pending().values()) == 1


# -- the burst against the real service ------------------------------------------------------------

HOSTILE = ["<script>alert(1)</script>", "' OR 1=1 --", "a" * 5000, "%00", "../../etc/passwd", "\u202egnp.exe",
           "tram-5\r\nSet-Cookie: x=1", "😀", "onbekend", "direct", "UPPER-Case", "-", "sms"]
KNOWN = ("bibliotheek-oost", "tram-5", "buurthuis-noord")


def expected_source(code: str | None) -> str:
    if code is None or code == "":
        return DIRECT
    c = code.strip().lower()
    if c in ("direct", "onbekend", "sms", "whatsapp"):
        return c
    return c if c in KNOWN else UNKNOWN


def random_code(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.55:
        return rng.choice(KNOWN)
    if roll < 0.75:
        return rng.choice(HOSTILE)
    return "".join(rng.choice(string.ascii_lowercase + string.digits + "-") for _ in range(rng.randint(1, 60)))


async def start_web(database_url: str, log: Path) -> tuple[asyncio.subprocess.Process, str]:
    return await web_process(database_url, log, PULSE_WEB_FLUSH_SECONDS="0.5", PULSE_WEB_SOURCES=",".join(KNOWN),
                             PULSE_CHANNEL_NAME="amsterdam", PULSE_WEB_CACHE_SECONDS="2")


def text_columns(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return conn.execute("""
        SELECT c.table_schema, c.table_name, c.column_name
          FROM information_schema.columns c
          JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema IN ('pulse', 'kpi', 'public') AND t.table_type = 'BASE TABLE'
           AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'inet',
                               'USER-DEFINED')""").fetchall()


@pytest.fixture
async def seeded(database_url: str) -> AsyncIterator[str]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    s = Store(pool)
    await s.channel()
    await s.post("<p>Vragenuur</p>", ("qena",))
    await pool.close()
    yield database_url


async def test_counters_equal_the_requests_made_and_nothing_about_the_visitor_is_stored_or_logged(
    seeded: str, tmp_path: Path
) -> None:
    database_url = seeded
    log = tmp_path / "web.log"
    agent = f"PulseBurst/{uuid.uuid4().hex}"
    forwarded = "203.0.113.77"  # what a proxy in front would add
    proc, base = await start_web(database_url, log)
    rng = random.Random(10)
    plan = [(rng.choice(("page_view",) * 7 + ("signup_click",) * 3), random_code(rng)) for _ in range(10_500)]
    expected: Counter[tuple[str, str]] = Counter((expected_source(code), kind) for kind, code in plan)
    statuses: Counter[int] = Counter()
    headers = {"User-Agent": agent, "X-Forwarded-For": forwarded, "Referer": f"https://{agent.lower()}.example/",
               "Cookie": f"tracking={agent}"}
    try:
        async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=48)) as http:
            queue: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
            for item in plan:
                queue.put_nowait(item)

            async def worker() -> None:
                while not queue.empty():
                    kind, code = queue.get_nowait()
                    path = "/praatmee" if kind == "page_view" else "/praatmee/naar/aanmelden"
                    url = base + path + ("" if code is None else "?bron=" + quote(code, safe=""))
                    async with http.get(url, allow_redirects=False) as resp:
                        await resp.read()
                        statuses[resp.status] += 1
                        assert "Set-Cookie" not in resp.headers

            await asyncio.gather(*(worker() for _ in range(48)))
        # a malformed request makes aiohttp log an error: that line must not name the visitor either
        reader, writer = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
        writer.write(f"GET /praatmee HTTP/1.1\r\nHost: x\r\nUser-Agent: {agent}\r\nX-Bad\x01: {agent}\r\n"
                     f"Content-Length: nope\r\n\r\n".encode())
        await writer.drain()
        assert b" 400 Bad Request" in await reader.read(100)
        writer.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0, log.read_text()
    assert statuses == Counter({200: sum(1 for k, _ in plan if k == "page_view"),
                                302: sum(1 for k, _ in plan if k == "signup_click")})
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT day, source, page_views, signup_clicks, reply_clicks FROM kpi.entry_daily"
                            ).fetchall()
        got: Counter[tuple[str, str]] = Counter()
        for _, source, views, signups, replies in rows:
            got[(source, "page_view")] += views
            got[(source, "signup_click")] += signups
            assert replies == 0
        local = ZoneInfo("Europe/Amsterdam")
        assert {r[0] for r in rows} <= {datetime.now(local).date(), (datetime.now(local) - timedelta(minutes=1)).date()}
        assert +got == expected
        # nothing about the visitor anywhere in the database ...
        for schema, table, column in text_columns(conn):
            for needle in (agent, forwarded, "127.0.0.1", agent.lower()):
                n = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text LIKE %s',
                                 (f"%{needle}%",)).fetchone()[0]
                assert n == 0, f"{needle} found in {schema}.{table}.{column}"
    # ... nor in what the service wrote
    output = log.read_text(errors="replace")
    assert "listening on" in output and "Error handling request" in output
    # the start-up lines name the address the service listens on (also 127.0.0.1 here); nothing else may
    rest = "\n".join(line for line in output.splitlines() if "listening on" not in line and "serving" not in line)
    for needle in (agent, forwarded, "127.0.0.1", "/praatmee", "bron"):
        assert needle not in rest, rest[:2000]
