"""The running service: per channel a stream and a catch-up loop, all feeding one batcher and sink.

Data flows one way: sources (stream, REST catch-up) -> normalize (pure) -> batcher/sink -> SQL views.
This module only wires and supervises; each part gets only the settings slice it needs.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path

import asyncpg
import structlog
from pydantic import SecretStr

from ingester import store
from ingester.batcher import Batcher
from ingester.clock import Clock, SystemClock
from ingester.events import Event
from ingester.frames import StreamError, StreamEvent, decode_ws_frame
from ingester.identity import account_key
from ingester.normalize import ChannelContext, normalize_stream
from ingester.observability import Metrics
from ingester.settings import ChannelSettings, Settings
from ingester.sink import CursorMark, Sink
from ingester.sources.catchup import CatchUp
from ingester.sources.rest import MastodonRest, RestFatal
from ingester.sources.stream import Backpressure, StreamConfig, StreamFatal, StreamSource

log = structlog.get_logger("ingester.service")
# The database connection failed (reset, refused, timed out, or the server is starting/stopping).
DATABASE_GONE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,
)


class Fatal(Exception):
    """The service cannot go on (bad token, missing scope); `str()` is one line naming the cause."""


@dataclass(frozen=True)
class ServiceConfig:
    """The slice of Settings the service needs."""

    dsn: str
    channels: tuple[ChannelSettings, ...]
    salt: SecretStr
    batch_size: int = 500
    batch_max_age: float = 0.2
    reconcile_seconds: float = 180.0
    idle_timeout: float = 90.0
    backfill_since: date | None = None
    heartbeat_seconds: float = 5.0
    metrics_port: int | None = 9108  # None: no /metrics server (tests that run several services)
    spool_dir: Path | None = None  # None: memory only
    spool_bytes: int = 256 * 2**20
    close_timeout: float = 20.0
    # Where the data comes from ('real' | 'simulated'), recorded in pulse.data_origin; None: not checked.
    origin: str | None = None
    accept_simulated_data: bool = False
    formats: tuple[tuple[str, str], ...] | None = None  # PULSE_FORMATS, applied at start; None: leave as is

    @classmethod
    def from_settings(cls, s: Settings) -> ServiceConfig:
        return replace(cls.from_settings_without_channels(s), channels=tuple(s.channels()))

    @classmethod
    def from_settings_without_channels(cls, s: Settings) -> ServiceConfig:
        """Everything but the channels (the simulator brings its own)."""
        from ingester.formats import parse_formats

        return cls(
            dsn=s.dsn(),
            channels=(),
            salt=s.pulse_account_salt,
            batch_size=s.pulse_batch_size,
            batch_max_age=s.pulse_batch_max_age_ms / 1000,
            reconcile_seconds=s.pulse_reconcile_seconds,
            idle_timeout=s.pulse_idle_timeout_seconds,
            backfill_since=s.pulse_backfill_since,
            metrics_port=s.pulse_metrics_port,
            spool_dir=None if s.pulse_spool_max_mb == 0 else (s.pulse_spool_dir or Path(tempfile.gettempdir()) / "praatmee-pulse"),
            spool_bytes=s.pulse_spool_max_mb * 2**20,
            origin="real",
            accept_simulated_data=s.pulse_accept_simulated_data,
            formats=tuple(parse_formats(s.pulse_formats)),
        )


@dataclass
class Counters:
    events: Counter[str] = field(default_factory=Counter)
    stream_errors: int = 0
    dead_letters: int = 0


class ChannelRunner:
    def __init__(
        self,
        ch: ChannelSettings,
        cfg: ServiceConfig,
        pool: asyncpg.Pool,
        batcher: Batcher,
        metrics: Metrics,
        saturated: Callable[[], bool] = lambda: False,
        clock: Clock = SystemClock(),
    ) -> None:
        self.ch = ch
        self.clock = clock
        self._saturated = saturated
        self.metrics = metrics
        self.cfg = cfg
        self.pool = pool
        self.batcher = batcher
        self.rest = MastodonRest(ch.api_base, ch.access_token)
        self.counters = Counters()
        self._trigger = asyncio.Event()
        self._gap_since: datetime | None = None
        self.ctx: ChannelContext | None = None
        self.stream: StreamSource | None = None
        self.catchup: CatchUp | None = None
        self.last_event_at: datetime | None = None
        self._polls_reported = 0  # catch-up's context polls already counted in the metrics

    async def prepare(self, cursors: dict[tuple[str, str], str]) -> None:
        try:
            me = await self.rest.verify_credentials()
        except RestFatal as exc:
            raise Fatal(f"channel {self.ch.name}: {exc}") from None
        salt = self.cfg.salt.get_secret_value()
        uri = str(me.get("uri") or me.get("url") or "")
        self.ctx = ChannelContext(channel=self.ch.name, account_id=str(me["id"]), salt=salt)
        await store.upsert_channel(
            self.pool, self.ch.name, str(me["id"]), account_key(uri, salt), str(me.get("acct")), self.ch.api_base
        )
        streaming = await self.rest.streaming_base()
        own = {name: value for (channel, name), value in cursors.items() if channel == self.ch.name}
        self.catchup = CatchUp(
            self.rest,
            self.ctx,
            self.pool,
            self._put,
            own,
            hashtags=self.ch.hashtags,
            backfill_since=self.cfg.backfill_since,
            clock=self.clock.now,
        )
        self.stream = StreamSource(
            StreamConfig(streaming, self.ch.access_token, self.ch.hashtags, idle_timeout=self.cfg.idle_timeout),
            self._on_text,
            self._on_connected,
            on_disconnected=self._on_disconnected,
            ready=self._room,
        )
        # After a restart (or kill -9) anything may have happened since our last heartbeat.
        self._gap_since = await store.last_alive(self.pool, self.ch.name)
        log.info("channel ready", channel=self.ch.name, acct=me.get("acct"), streaming=streaming)

    async def _put(self, item: Event | CursorMark, received: float | None = None) -> None:
        if isinstance(item, CursorMark):
            self.metrics.catchup_page(self.ch.name)
        else:
            self.counters.events[item.type] += 1
            # The batcher never drops (it retries until the database takes the batch), so an event
            # handed over here is an event that will be written.
            self.metrics.event_written(self.ch.name, item.type)
            if item.type == "dead_letter":
                self.counters.dead_letters += 1
                self.metrics.dead_letter(self.ch.name)
        await self.batcher.put(item, received=received)

    async def _room(self) -> None:
        """Before (re)connecting: wait until the spool has room again."""
        while self._saturated():
            await asyncio.sleep(0.5)

    async def _on_text(self, text: str, received: float) -> None:
        assert self.ctx is not None
        if self._saturated():
            # Memory and disk spool are full (the database has been down for long): stop reading the
            # stream; the catch-up after the reconnect pages everything since the durable cursor.
            raise Backpressure("spool full")
        msg = decode_ws_frame(text)
        if isinstance(msg, StreamError):
            # Error frames leave the socket open; they mean a subscription was refused.
            self.counters.stream_errors += 1
            log.error("streaming error frame", channel=self.ch.name, error=msg.error, status=msg.status)
            return
        if isinstance(msg, StreamEvent) and msg.event == "notifications_merged":
            self._trigger.set()  # filtered notifications were released: re-read them
        now = self.clock.now()
        for ev in normalize_stream(msg, self.ctx, now):
            await self._put(ev, received)
        self.last_event_at = now

    def _on_connected(self) -> None:
        self.metrics.set_stream_connected(self.ch.name, True)
        self._trigger.set()

    def _on_disconnected(self, reason: str) -> None:
        self.metrics.set_stream_connected(self.ch.name, False)
        self.metrics.reconnected(self.ch.name)
        if self._gap_since is None:
            self._gap_since = self.clock.now()

    async def _catchup_loop(self) -> None:
        assert self.catchup is not None
        while True:
            try:
                # Reconcile runs drive thread polling, whose intervals are calendar time.
                await asyncio.wait_for(self._trigger.wait(), timeout=self.clock.wall(self.cfg.reconcile_seconds))
            except asyncio.TimeoutError:
                pass
            self._trigger.clear()
            gap, self._gap_since = self._gap_since, None
            started = time.monotonic()
            self.metrics.catchup_run(self.ch.name)
            self.metrics.set_catching_up(self.ch.name, True)
            try:
                await self.catchup.run(gap_since=gap)
            except RestFatal as exc:
                raise Fatal(f"channel {self.ch.name}: {exc}") from None
            except DATABASE_GONE as exc:
                # An outage or restart of the database mid-run is expected, not a bug: no traceback.
                log.warning("catch-up interrupted: database unreachable; the next run starts again from the "
                            "durable cursors", channel=self.ch.name, error=type(exc).__name__)
                self._gap_since = self._gap_since or gap
                await asyncio.sleep(5)
                continue
            except Exception:  # noqa: BLE001 - a bug or odd answer must not stop ingestion
                log.exception("catch-up failed; the next run starts again from the durable cursors", channel=self.ch.name)
                self._gap_since = self._gap_since or gap
                await asyncio.sleep(5)
                continue
            finally:
                self.metrics.set_catching_up(self.ch.name, False)
                schedule, polls = self.catchup.schedule, self.catchup.stats.context_polls
                self.metrics.set_thread_schedule(self.ch.name, len(schedule.posts), schedule.oldest())
                self.metrics.threads_polled(self.ch.name, polls - self._polls_reported)
                self._polls_reported = polls
            log.info(
                "catch-up done",
                channel=self.ch.name,
                after_gap=gap is not None,
                pages=self.catchup.stats.pages,
                seconds=round(time.monotonic() - started, 2),
            )

    async def _heartbeat_loop(self) -> None:
        assert self.stream is not None and self.catchup is not None
        while True:
            await asyncio.sleep(self.cfg.heartbeat_seconds)
            row = {
                "channel": self.ch.name,
                "at": self.clock.now(),
                "stream_connected": self.stream.connected,
                "last_frame_at": _wall(self.stream.last_frame_wall),
                "last_event_at": self.last_event_at,
                "lag_seconds": self.batcher.latency_p50(),
                "events_total": sum(self.counters.events.values()),
                "reconnects_total": self.stream.reconnects,
                "catchup_runs_total": self.catchup.stats.runs,
                "catchup_pages_total": self.catchup.stats.pages,
                "dead_letters_total": self.counters.dead_letters,
                "spool_depth": self.batcher.depth(),
                "ratelimit_remaining": self.rest.rate.remaining,
            }
            if self.rest.rate.remaining is not None:
                self.metrics.set_ratelimit_remaining(self.ch.name, self.rest.rate.remaining)
            self.metrics.set_spool_depth(self.batcher.depth())
            try:
                await store.write_heartbeat(self.pool, row)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("heartbeat not written", channel=self.ch.name, error=type(exc).__name__)

    async def run(self) -> None:
        assert self.stream is not None
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.stream.run(), name=f"stream:{self.ch.name}")
                tg.create_task(self._catchup_loop(), name=f"catchup:{self.ch.name}")
                tg.create_task(self._heartbeat_loop(), name=f"heartbeat:{self.ch.name}")
        except* (StreamFatal, Fatal) as eg:
            # One handler for both: the stream and the catch-up can meet a revoked token at the same
            # moment, and two raising `except*` clauses would end the run in an ExceptionGroup traceback.
            first = eg.exceptions[0]
            raise (Fatal(f"channel {self.ch.name}: {first}") if isinstance(first, StreamFatal) else first) from None


def _wall(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, timezone.utc) if ts else None
