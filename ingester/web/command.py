"""`ingester web`: serve the entry page until SIGTERM/SIGINT, flushing the counters periodically and once
more at the end. Runs without an access log on purpose (a log line would hold the visitor's address)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping

import asyncpg
import typer
from aiohttp import web

from ingester.exits import fail
from ingester.settings import load_web_settings
from ingester.web.config import WebSettings
from ingester.web.counters import EntryCounters, SourcePolicy
from ingester.web.reply import Destinations

# Sub-applications mounted beside the page, built once the counters exist (they share them), e.g.
# lambda counters: {"/keyword": keyword_app(settings.keyword(), counters)}.
SubApps = Callable[[EntryCounters], Mapping[str, web.Application]]

log = logging.getLogger("ingester.web")


class NoVisitorDetails(logging.Filter):
    """aiohttp logs a malformed or failing request as "Error handling request from <address>" with a
    traceback that may quote the request's bytes (a header, the user agent). Keep the fact and the
    exception type; drop the address and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            kind = type(record.exc_info[1]).__name__
        else:
            kind = None
        if isinstance(record.msg, str) and "%s" in record.msg:
            record.msg = record.msg.replace(" from %s", "").replace("%s", "-")
        record.args = ()
        if kind:
            record.msg = f"{record.msg} ({kind})"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_visitor_logs() -> None:
    """No access log, and nothing about a visitor in aiohttp's own error lines."""
    logging.getLogger("aiohttp.access").disabled = True
    for name in ("aiohttp.server", "aiohttp.web"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoVisitorDetails) for f in logger.filters):
            logger.addFilter(NoVisitorDetails())


async def serve(settings: WebSettings, dsn: str, stop: asyncio.Event, *, destinations: Destinations | None = None,
                subapps: SubApps | None = None) -> None:
    from ingester.web.app import create_app
    from ingester.web.conversations import CachedConversations, StoreConversations
    # min_size=0: the page starts (and says "no conversations") even while the database is down.
    pool = await asyncpg.create_pool(dsn, min_size=0, max_size=4, command_timeout=10)
    counters = EntryCounters(settings.timezone, SourcePolicy(settings.sources, settings.source_cap))
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        await counters.seed(pool)
    store = StoreConversations(pool, settings.channel, settings.formats, settings.live_hours, settings.replies)
    cache = CachedConversations(store.load, ttl=settings.cache_seconds)
    dest = destinations or Destinations(settings.lookup_seconds)
    app = create_app(settings, cache, counters, dest, subapps=subapps(counters) if subapps else None)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=1024)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.port
    log.info("ingester web: serving /praatmee for channel %s on port %s", settings.channel, port)
    print(f"ingester web: listening on {settings.host}:{port}", flush=True)

    async def flusher() -> None:
        while True:
            await asyncio.sleep(settings.flush_seconds)
            await counters.flush(pool)

    task = asyncio.create_task(flusher())
    try:
        await stop.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await runner.cleanup()
        await cache.close()
        await counters.flush(pool)
        await pool.close()


def web_command() -> None:
    """Serve the public entry page GET /praatmee (port PULSE_WEB_PORT, default 8080) until SIGTERM/SIGINT."""
    from ingester.keyword import disabled_endpoints, keyword_app
    from ingester.observability import configure_logging
    from ingester.redact import Redactor

    settings = load_web_settings()  # a SettingsError reaches the command group: one line per problem, exit 2
    web_settings = settings.web()
    keyword_settings = settings.keyword()
    # Every secret setting is masked in every log line (the WhatsApp handshake carries its verify token
    # in the query string).
    configure_logging(settings.pulse_log_format, Redactor.from_settings(settings))  # type: ignore[arg-type]
    quiet_visitor_logs()
    for line in disabled_endpoints(keyword_settings):
        log.warning("ingester web: %s", line)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # The PRAATMEE keyword webhooks count into the same per-day counters as the page.
        await serve(web_settings, settings.dsn(), stop,
                    subapps=lambda counters: {"/keyword": keyword_app(keyword_settings, counters)})

    try:
        asyncio.run(main())
    except OSError as exc:
        fail(f"web: cannot listen on port {web_settings.port} ({exc.strerror}) — set PULSE_WEB_PORT to a free port")


def register(app: typer.Typer) -> None:
    app.command("web")(web_command)
