"""The fault-injection proxy itself, driven with asyncpg against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tcpproxy import TcpProxy  # tests/ is on sys.path (rootdir conftest, no __init__.py)

# What a client may see when its line is cut: asyncpg's own errors or the socket's.
BROKEN = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError, OSError, EOFError)


def through(url: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{port}"))


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    target = urlsplit(database_url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as p:
        yield p


@pytest.fixture
def proxied_url(database_url: str, proxy: TcpProxy) -> str:
    return through(database_url, proxy.port)


async def test_queries_pass_through_the_proxy_unchanged(proxy: TcpProxy, proxied_url: str) -> None:
    conn = await asyncpg.connect(proxied_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pulse.statuses") == 0
        assert await conn.fetchval("SELECT 'ok' || $1::text", "!") == "ok!"
    finally:
        await conn.close()
    assert proxy.stats.accepted == 1
    assert proxy.stats.bytes_up > 0 and proxy.stats.bytes_down > 0


async def test_cut_breaks_a_live_connection(proxy: TcpProxy, proxied_url: str) -> None:
    conn = await asyncpg.connect(proxied_url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        proxy.cut()
        with pytest.raises(BROKEN):
            await conn.fetchval("SELECT 1", timeout=5)
    finally:
        conn.terminate()


async def test_new_connections_fail_while_cut_and_work_after_restore(
    proxy: TcpProxy, proxied_url: str
) -> None:
    proxy.cut()
    with pytest.raises(BROKEN):
        await asyncpg.connect(proxied_url, timeout=5)
    assert proxy.stats.refused >= 1
    proxy.restore()
    conn = await asyncpg.connect(proxied_url, timeout=5)
    try:
        assert await conn.fetchval("SELECT 2") == 2
    finally:
        await conn.close()


async def test_a_pool_recovers_by_itself_after_an_outage(proxy: TcpProxy, proxied_url: str) -> None:
    pool = await asyncpg.create_pool(proxied_url, min_size=1, max_size=2)
    try:
        assert await pool.fetchval("SELECT 1") == 1
        proxy.cut()
        with pytest.raises(BROKEN):
            await pool.fetchval("SELECT 1", timeout=5)
        proxy.restore()
        assert await pool.fetchval("SELECT 3", timeout=5) == 3
    finally:
        pool.terminate()
    assert proxy.stats.cuts == 1


async def test_hang_makes_a_silent_outage_that_only_a_timeout_notices(
    proxy: TcpProxy, proxied_url: str
) -> None:
    conn = await asyncpg.connect(proxied_url)
    try:
        proxy.cut("hang")
        with pytest.raises((asyncio.TimeoutError, *BROKEN)) as caught:
            await conn.fetchval("SELECT 1", timeout=0.5)
        assert isinstance(caught.value, asyncio.TimeoutError)
        with pytest.raises(asyncio.TimeoutError):
            await asyncpg.connect(proxied_url, timeout=0.5)
    finally:
        conn.terminate()
    proxy.restore()
    conn = await asyncpg.connect(proxied_url, timeout=5)
    try:
        assert await conn.fetchval("SELECT 4") == 4
    finally:
        await conn.close()


async def test_the_port_stays_the_same_across_outages() -> None:
    async with TcpProxy("127.0.0.1", 1) as proxy:
        port = proxy.port
        proxy.cut()
        proxy.restore()
        proxy.cut("hang")
        proxy.restore()
        assert proxy.port == port and proxy.stats.cuts == 2 and not proxy.is_cut
        # still listening on that port
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()


async def test_an_unreachable_target_closes_the_client_instead_of_hanging() -> None:
    # Find a port nobody listens on: bind, note it, close.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with TcpProxy("127.0.0.1", dead_port) as p:
        reader, writer = await asyncio.open_connection("127.0.0.1", p.port)
        assert await asyncio.wait_for(reader.read(1), timeout=5) == b""
        writer.close()
        assert p.stats.refused == 1 and p.stats.accepted == 0


def test_cut_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="cut mode"):
        TcpProxy("127.0.0.1", 1).cut("explode")  # type: ignore[arg-type]
