"""Logs, metrics and health for an unattended service.

- `configure_logging`: structlog for our own logs, with stdlib `logging` (asyncpg, websockets, aiohttp)
  routed through the same chain, so every line has one format and passes the `Redactor` twice: over
  each value of the event dict and over the rendered line (which also catches secrets hiding in
  keys or in the `repr` of an object).
- `Metrics`: Prometheus collectors in a registry of their own (tests build many; the global registry
  would refuse duplicates), updated through small methods the service parts call.
- `serve_metrics`: `/metrics` and `/healthz` over aiohttp on a configurable port (0 = ephemeral).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TextIO

import structlog
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from ingester.redact import Redactor

LogFormat = Literal["auto", "json", "console"]
_HANDLER_NAME = "pulse"


# -- logging ---------------------------------------------------------------------------------


def _redacting(redactor: Redactor) -> structlog.types.Processor:
    def redact(_logger: Any, _name: str, event_dict: Any) -> Any:
        return {key: redactor.scrub_value(value) for key, value in event_dict.items()}

    return redact


class _ScrubbedRenderer:
    """The last step: render, then scrub the finished line once more."""

    def __init__(self, renderer: Callable[..., str | bytes], redactor: Redactor) -> None:
        self._renderer = renderer
        self._redactor = redactor

    def __call__(self, logger: Any, name: str, event_dict: Any) -> str:
        out = self._renderer(logger, name, event_dict)
        text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
        return self._redactor.scrub(text)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def configure_logging(
    format: LogFormat = "auto",  # noqa: A002 - the setting is called PULSE_LOG_FORMAT
    redactor: Redactor | None = None,
    *,
    level: int | str = logging.INFO,
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging to `stream` (default stdout), JSON or console.

    `auto` writes JSON unless `stream` is a terminal. Safe to call again (tests, reconfiguration):
    the previous handler installed here is replaced, others are left alone.
    """
    if format not in ("auto", "json", "console"):
        raise ValueError(f"PULSE_LOG_FORMAT: must be auto, json or console, not {format!r}")
    out = stream if stream is not None else sys.stdout
    redactor = redactor or Redactor()
    as_json = format == "json" or (format == "auto" and not _isatty(out))

    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    renderer: Callable[..., str | bytes]
    if as_json:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=_isatty(out))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks become text here so that the redactor sees them too.
            structlog.processors.format_exc_info,
            _redacting(redactor),
            _ScrubbedRenderer(renderer, redactor),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


# -- health ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthState:
    healthy: bool
    reasons: tuple[str, ...] = ()
    checks: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "reasons": list(self.reasons),
            "checks": dict(self.checks),
        }


def assess(
    *,
    now: float,
    started_at: float,
    connected: Mapping[str, bool],
    catching_up: Mapping[str, bool],
    db_last_ok: float | None,
    db_stale_after: float,
) -> HealthState:
    """Healthy = every channel is streaming or catching up, and the database took a write recently.

    Pure. Within `db_stale_after` seconds of start nothing is required yet (the service is starting).
    """
    reasons: list[str] = []
    uptime = now - started_at
    starting = uptime < db_stale_after
    channels: dict[str, str] = {}
    for name in sorted(set(connected) | set(catching_up)):
        if connected.get(name):
            channels[name] = "streaming"
        elif catching_up.get(name):
            channels[name] = "catching_up"
        else:
            channels[name] = "disconnected"
            reasons.append(f"{name}: stream disconnected and not catching up")
    if not channels and not starting:
        reasons.append(f"no channel has started streaming after {uptime:.0f}s")
    if db_last_ok is None:
        if not starting:
            reasons.append(f"database: no successful write since start ({uptime:.0f}s ago)")
    elif now - db_last_ok > db_stale_after:
        reasons.append(f"database: last successful write {now - db_last_ok:.0f}s ago")
    checks = {
        "channels": channels,
        "db_last_write_age_seconds": None if db_last_ok is None else round(now - db_last_ok, 3),
        "uptime_seconds": round(uptime, 3),
    }
    return HealthState(not reasons, tuple(reasons), checks)


# -- metrics ---------------------------------------------------------------------------------

_LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600)


class Metrics:
    """Every metric the service exposes, plus the little state `/healthz` needs."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
        db_stale_after: float = 120.0,
    ) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        self._clock = clock
        self.db_stale_after = db_stale_after
        self.started_at = clock()
        self._connected: dict[str, bool] = {}
        self._catching_up: dict[str, bool] = {}
        self._db_last_ok: float | None = None
        self._newest: dict[str, float] = {}
        self._waiting: str | None = None  # why the service has not started yet (e.g. no database)

        ch = ("channel",)
        self.events = Counter("pulse_events", "Normalised events written.", ("channel", "kind"), registry=r)
        self.lag = Histogram(
            "pulse_ingest_lag_seconds", "Seconds from an event on Mastodon to its row in the database.",
            ch, buckets=_LAG_BUCKETS, registry=r,
        )
        self.reconnects = Counter("pulse_stream_reconnects", "Streaming reconnects.", ch, registry=r)
        self.catchup_runs = Counter("pulse_catchup_runs", "REST catch-up runs started.", ch, registry=r)
        self.catchup_pages = Counter("pulse_catchup_pages", "REST pages read by catch-up.", ch, registry=r)
        self.catching_up = Gauge("pulse_catchup_active", "1 while a REST catch-up runs.", ch, registry=r)
        self.dead_letters = Counter("pulse_dead_letters", "Inputs set aside as dead letters.", ch, registry=r)
        self.spool_depth = Gauge(
            "pulse_spool_depth", "Events waiting to be written (where: memory | disk).", ("where",), registry=r
        )
        self.ratelimit_remaining = Gauge(
            "pulse_ratelimit_remaining", "X-RateLimit-Remaining of the last REST answer.", ch, registry=r
        )
        self.stream_connected = Gauge("pulse_stream_connected", "1 while streaming.", ch, registry=r)
        self.last_event = Gauge(
            "pulse_last_event_timestamp_seconds", "Time of the newest event written (Unix).", ch, registry=r
        )
        self.db_last_write = Gauge(
            "pulse_db_last_write_timestamp_seconds", "Last successful database write (Unix time).", registry=r
        )
        self.db_write_errors = Counter("pulse_db_write_errors", "Failed database writes.", registry=r)
        self.retention_rows = Counter(
            "pulse_retention_rows", "Rows purged or deleted by the retention policy.", ("what",), registry=r
        )
        self.retention_last_run = Gauge(
            "pulse_retention_last_run_timestamp_seconds", "Last successful retention run (Unix).", registry=r
        )
        self.thread_polls = Counter("pulse_thread_polls", "Threads re-read by thread polling.", ch, registry=r)
        self.thread_schedule = Gauge(
            "pulse_thread_schedule_posts", "Channel posts whose threads are polled (at most the last 30 days').",
            ch, registry=r,
        )
        self.thread_schedule_oldest = Gauge(
            "pulse_thread_schedule_oldest_post_timestamp_seconds",
            "When the oldest post still polled was posted (Unix; 0 when none is).", ch, registry=r,
        )
        self.spool_depth.labels("memory").set(0)
        self.spool_depth.labels("disk").set(0)
        # Process RSS/CPU/fds in our registry: the soak benchmark reads RSS drift from here.
        ProcessCollector(registry=r)

    # -- recorders the service calls -------------------------------------------------------

    def event_written(self, channel: str, kind: str, occurred_at: datetime | None = None) -> None:
        self.events.labels(channel, kind).inc()
        if occurred_at is not None:
            at = occurred_at.timestamp()
            self.lag.labels(channel).observe(max(0.0, self._clock() - at))
            # The newest, not the last: catch-up writes old events after live ones.
            if at > self._newest.get(channel, float("-inf")):
                self._newest[channel] = at
                self.last_event.labels(channel).set(at)

    def reconnected(self, channel: str) -> None:
        self.reconnects.labels(channel).inc()

    def catchup_run(self, channel: str) -> None:
        self.catchup_runs.labels(channel).inc()

    def catchup_page(self, channel: str) -> None:
        self.catchup_pages.labels(channel).inc()

    def set_catching_up(self, channel: str, active: bool) -> None:
        self._catching_up[channel] = active
        self.catching_up.labels(channel).set(1 if active else 0)

    def threads_polled(self, channel: str, n: int) -> None:
        self.thread_polls.labels(channel).inc(n)

    def set_thread_schedule(self, channel: str, posts: int, oldest: datetime | None) -> None:
        """After each catch-up: how many posts the thread-polling schedule holds, and the oldest one's
        time (the soak benchmark checks both stay within the 30-day window)."""
        self.thread_schedule.labels(channel).set(posts)
        self.thread_schedule_oldest.labels(channel).set(oldest.timestamp() if oldest is not None else 0)

    def dead_letter(self, channel: str) -> None:
        self.dead_letters.labels(channel).inc()

    def set_spool_depth(self, memory: int, disk: int = 0) -> None:
        self.spool_depth.labels("memory").set(memory)
        self.spool_depth.labels("disk").set(disk)

    def set_ratelimit_remaining(self, channel: str, remaining: int) -> None:
        self.ratelimit_remaining.labels(channel).set(remaining)

    def set_stream_connected(self, channel: str, connected: bool) -> None:
        self._connected[channel] = connected
        self.stream_connected.labels(channel).set(1 if connected else 0)

    def db_write_ok(self) -> None:
        self._db_last_ok = self._clock()
        self.db_last_write.set(self._db_last_ok)

    def db_write_failed(self) -> None:
        self.db_write_errors.inc()

    def retention_applied(self, result: Mapping[str, int]) -> None:
        for what, rows in result.items():
            self.retention_rows.labels(what).inc(rows)
        self.retention_last_run.set(self._clock())

    # -- reading ----------------------------------------------------------------------------

    def set_waiting(self, reason: str | None) -> None:
        """While set, /healthz answers 503 with this reason (the service waits for what it needs)."""
        self._waiting = reason

    def health(self) -> HealthState:
        if self._waiting is not None:
            return HealthState(False, (self._waiting,), {"uptime_seconds": round(self._clock() - self.started_at, 3)})
        return assess(
            now=self._clock(),
            started_at=self.started_at,
            connected=self._connected,
            catching_up=self._catching_up,
            db_last_ok=self._db_last_ok,
            db_stale_after=self.db_stale_after,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


# -- HTTP ------------------------------------------------------------------------------------


async def serve_metrics(
    metrics: Metrics,
    port: int,
    health: Callable[[], HealthState] | None = None,
    *,
    host: str = "0.0.0.0",  # noqa: S104 - Prometheus scrapes from another container
) -> web.AppRunner:
    """Serve `/metrics` and `/healthz` on `host:port` (0 = ephemeral; see `bound_port`).

    `/healthz` answers 200 with JSON when `health()` says healthy, else 503 with the reasons.
    `health` defaults to `metrics.health`. Stop with `await runner.cleanup()`.
    """
    check = health or metrics.health

    async def metrics_view(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health_view(_request: web.Request) -> web.Response:
        try:
            state = check()
        except Exception as exc:  # noqa: BLE001 - a broken check is itself unhealthy
            # Only the type: the message could carry anything.
            state = HealthState(False, (f"health check failed: {type(exc).__name__}",))
        return web.Response(
            text=json.dumps(state.to_json()),
            status=200 if state.healthy else 503,
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", health_view)
    runner = web.AppRunner(app, access_log=None)  # scrapes every 15 s would drown the log
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        message = f"PULSE_METRICS_PORT: cannot listen on {host}:{port} ({exc.strerror})"
        raise OSError(exc.errno, message) from None
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port `serve_metrics` actually listens on (useful with port 0)."""
    return int(runner.addresses[0][1])


__all__ = [
    "HealthState",
    "LogFormat",
    "Metrics",
    "assess",
    "bound_port",
    "configure_logging",
    "serve_metrics",
]
