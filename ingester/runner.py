"""Top-level supervisor: database pool, sink, batcher and one ChannelRunner per channel, until told to stop.

On stop (SIGTERM/SIGINT) the sources are cancelled first, then the batcher flushes what it holds and the
cursors commit with those rows; the caller prints the one-line summary.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_never, wait_random_exponential

from ingester import store
from ingester.batcher import Batcher
from ingester.clock import Clock, SystemClock
from ingester.migrate import connect_failure
from ingester.observability import Metrics, serve_metrics
from ingester.report.delivery import Deliverer, DeliverySettings
from ingester.retention import RetentionSettings, retention_loop
from ingester.service import ChannelRunner, Fatal, ServiceConfig
from ingester.sink import Sink
from ingester.spool import Spool

log = structlog.get_logger("ingester.runner")


@dataclass(frozen=True)
class Summary:
    events: dict[str, int]
    reconnects: int
    catchup_runs: int
    dead_letters: int

    def line(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.events.items())) or "none"
        return (
            f"stopped cleanly: {sum(self.events.values())} events handed to the sink ({kinds}); "
            f"{self.reconnects} reconnects, {self.catchup_runs} catch-ups, {self.dead_letters} dead letters"
        )


async def connect_pool(
    dsn: str, *, attempts: int | None = None, on_retry: Callable[[str], None] | None = None
) -> asyncpg.Pool:
    """Open the pool, waiting for the database with backoff (it may start after us, as in compose)."""

    def _log(state: object) -> None:
        outcome = getattr(state, "outcome", None)
        error = type(outcome.exception()).__name__ if outcome is not None and outcome.failed else "unknown"
        log.warning("database unreachable, retrying", attempt=getattr(state, "attempt_number", None), error=error)
        if on_retry is not None:
            on_retry(f"waiting for the database (DATABASE_URL): unreachable ({error}), retrying")

    retrying = AsyncRetrying(
        retry=retry_if_exception_type((OSError, asyncpg.CannotConnectNowError, asyncio.TimeoutError)),
        wait=wait_random_exponential(multiplier=0.5, max=15),
        stop=stop_never,
        before_sleep=_log,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            # min_size=0: no idle floor to "restore" (with tracebacks) through every outage; the first
            # connection below proves the database is there before anything starts.
            pool = await asyncpg.create_pool(dsn, min_size=0, max_size=4, timeout=10)
            try:
                async with pool.acquire(timeout=10) as conn:
                    await conn.execute("SELECT 1")
            except BaseException:
                await pool.close()
                raise
            return pool
    raise AssertionError("unreachable")  # pragma: no cover


SIMULATED_HINT = (
    "point DATABASE_URL at a fresh database for the real channel, "
    "or set PULSE_ACCEPT_SIMULATED_DATA=true to mix them knowingly"
)


async def check_origin(conn: asyncpg.Connection, origin: str, accept_mixed: bool) -> None:
    """Record where this run's data comes from (migration 014); refuse to mix simulated and real data."""
    other = "real" if origin == "simulated" else "simulated"
    if not accept_mixed and await conn.fetchval("SELECT 1 FROM pulse.data_origin WHERE origin = $1", other):
        if other == "simulated":
            raise Fatal("DATABASE_URL: this database has received simulated data (ingester demo or run --simulate) "
                        f"— {SIMULATED_HINT}")
        raise Fatal("DATABASE_URL: this database holds a real channel's data; the simulator will not write into it "
                    "— use another database for the simulator, or set PULSE_ACCEPT_SIMULATED_DATA=true")
    await conn.execute(
        """INSERT INTO pulse.data_origin (origin) VALUES ($1)
           ON CONFLICT (origin) DO UPDATE SET last_at = now(), runs = pulse.data_origin.runs + 1""",
        origin,
    )


def tune_gc() -> None:
    """Garbage-collector settings for an allocation-heavy pipeline (every frame makes a few hundred
    short-lived objects, nearly all freed by reference counting): keep what exists at start-up (modules,
    settings, the simulator's world in a demo) out of every collection, and collect the young generation
    every 50,000 allocations instead of every 700. Measured in bench/ingest.py: about 10 us less Python
    CPU per event (~7 %). Idempotent."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class Service:
    def __init__(
        self,
        cfg: ServiceConfig,
        retention: RetentionSettings | None = None,
        report: DeliverySettings | None = None,
        *,
        clock: Clock = SystemClock(),
    ) -> None:
        self.cfg = cfg
        self.clock = clock  # the channel's calendar (ingester/clock.py); bench/soak.py --days scales it
        self.retention = retention
        self.report = report  # the weekly report by e-mail; None: not configured
        self.runners: list[ChannelRunner] = []
        self.batcher: Batcher | None = None
        self.metrics = Metrics()

    async def run(self, stop: asyncio.Event) -> Summary:
        """Run until `stop` is set; raise Fatal for a cause no retry can fix."""
        web = None
        if self.cfg.metrics_port is not None:
            # First of all: /healthz answers (503 with the reason) while the service waits for the database.
            try:
                web = await serve_metrics(self.metrics, self.cfg.metrics_port)
            except OSError as exc:
                raise Fatal(f"{exc.strerror} — choose a free port in PULSE_METRICS_PORT, or stop the process "
                            "that listens there") from None
        try:
            return await self._run(stop)
        finally:
            if web is not None:
                await web.cleanup()

    async def _run(self, stop: asyncio.Event) -> Summary:
        self.metrics.set_waiting("waiting for the database (DATABASE_URL)")
        # Waiting for the database retries forever (it may start after us); a stop must still end it.
        connecting = asyncio.ensure_future(connect_pool(self.cfg.dsn, on_retry=self.metrics.set_waiting))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([connecting, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not connecting.done():
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
            return self.summary()
        try:
            pool = connecting.result()
        except (asyncpg.InvalidPasswordError, asyncpg.ClientConfigurationError) as exc:
            raise Fatal(f"DATABASE_URL: {connect_failure(exc)}") from None
        except asyncpg.InvalidCatalogNameError:
            raise Fatal("DATABASE_URL: the database does not exist — create it, then run `ingester migrate`") from None
        except asyncpg.InvalidAuthorizationSpecificationError:
            raise Fatal("DATABASE_URL: the server does not accept this user — check the user name in the URL") from None
        self.metrics.set_waiting(None)
        try:
            await self._prepare_database(pool)
            sink = Sink(pool)
            spool = Spool(
                max(self.cfg.batch_size * 20, 10_000),
                path=self._spool_path(),
                disk_bytes=self.cfg.spool_bytes,
            )
            self.batcher = batcher = Batcher(
                sink,
                batch_size=self.cfg.batch_size,
                max_age=self.cfg.batch_max_age,
                observer=self.metrics,
                queue=spool,
            )
            batch_task = asyncio.create_task(batcher.run(), name="batcher")
            cursors = await store.load_cursors(pool)
            self.runners = [
                ChannelRunner(ch, self.cfg, pool, batcher, self.metrics, spool.saturated, self.clock)
                for ch in self.cfg.channels
            ]
            # Preparing waits for each server (retrying with backoff); a stop must still end it.
            prep = asyncio.ensure_future(asyncio.gather(*(r.prepare(cursors) for r in self.runners)))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([prep, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not prep.done():
                prep.cancel()
                await asyncio.gather(prep, return_exceptions=True)
                await self._close(batcher, batch_task, spool)
                return self.summary()
            prep.result()  # raises Fatal for a refused token
            tasks = [asyncio.create_task(r.run(), name=f"channel:{r.ch.name}") for r in self.runners]
            if self.retention is not None:
                tasks.append(
                    asyncio.create_task(
                        retention_loop(
                            pool,
                            self.retention.every_seconds,
                            self.retention,
                            first_delay=60.0,
                            on_result=self.metrics.retention_applied,
                            clock=self.clock,
                        ),
                        name="retention",
                    )
                )
            if self.report is not None:
                tasks.append(asyncio.create_task(Deliverer(self.cfg.dsn, self.report).run(), name="report"))
            stopper = asyncio.create_task(stop.wait(), name="stop")
            try:
                done, _ = await asyncio.wait([*tasks, stopper, batch_task], return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    if t is not stopper and not t.cancelled() and t.exception() is not None:
                        raise t.exception()  # type: ignore[misc]
            finally:
                for t in [*tasks, stopper]:
                    t.cancel()
                await asyncio.gather(*tasks, stopper, return_exceptions=True)
                await self._close(batcher, batch_task, spool)
            return self.summary()
        finally:
            await pool.close()

    async def _prepare_database(self, pool: asyncpg.Pool) -> None:
        """Before the first event: the schema is there, simulated data is not mixed with real data, and
        the format map is the one PULSE_FORMATS says (as `migrate` applies it)."""
        from ingester.formats import apply_formats_async

        async with pool.acquire() as conn:
            if not await conn.fetchval("SELECT to_regclass('pulse.schema_migrations') IS NOT NULL"):
                raise Fatal("DATABASE_URL: the database is not migrated — run `ingester migrate` first")
            if self.cfg.origin is not None:
                await check_origin(conn, self.cfg.origin, self.cfg.accept_simulated_data)
            if self.cfg.formats is not None:
                await apply_formats_async(conn, self.cfg.formats)

    def _spool_path(self) -> Path | None:
        if self.cfg.spool_dir is None:
            return None
        # One spool per database and channel set: two ingesters on one machine never share a file.
        key = hashlib.sha256((self.cfg.dsn + "|" + ",".join(c.name for c in self.cfg.channels)).encode())
        return self.cfg.spool_dir / f"spool-{key.hexdigest()[:16]}.jsonl"

    async def _close(self, batcher: Batcher, batch_task: asyncio.Task[None], spool: Spool) -> None:
        """Flush what is queued; if the database does not take it in time, keep it on disk for the next run."""
        try:
            await asyncio.wait_for(batcher.close(), self.cfg.close_timeout)
        except asyncio.TimeoutError:
            kept = spool.persist()
            log.warning("database unavailable at shutdown; queued items kept in the disk spool", items=kept)
        batch_task.cancel()
        await asyncio.gather(batch_task, return_exceptions=True)

    def summary(self) -> Summary:
        events: Counter[str] = Counter()
        for r in self.runners:
            events.update(r.counters.events)
        return Summary(
            events=dict(events),
            reconnects=sum(r.stream.reconnects for r in self.runners if r.stream),
            catchup_runs=sum(r.catchup.stats.runs for r in self.runners if r.catchup),
            dead_letters=sum(r.counters.dead_letters for r in self.runners),
        )
