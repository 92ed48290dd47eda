"""`ingester run` on a scaled clock: the process `bench/soak.py --days` starts and measures.

    python bench/scaled_service.py --origin 2026-01-01T00:00:00+00:00 --anchor 1767225600.0 --speed 2880

Everything is what `ingester run` does (settings from the environment, the same Service, sink, retention
and garbage-collector tuning); only the clock is injected: `ScaledClock(origin, anchor, speed)`, the same
calendar the soak's simulator plays on, so the channel ages `speed` times faster than real time.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingester.clock import ScaledClock  # noqa: E402
from ingester.observability import configure_logging  # noqa: E402
from ingester.redact import Redactor  # noqa: E402
from ingester.runner import Service, tune_gc  # noqa: E402
from ingester.service import ServiceConfig  # noqa: E402
from ingester.settings import load_settings  # noqa: E402


async def _serve(service: Service) -> str:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return (await service.run(stop)).line()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--origin", required=True, help="calendar time at the anchor (ISO 8601 with offset)")
    p.add_argument("--anchor", type=float, required=True, help="real Unix time at which the calendar reads origin")
    p.add_argument("--speed", type=float, required=True, help="calendar seconds per real second")
    args = p.parse_args()
    clock = ScaledClock(datetime.fromisoformat(args.origin), args.anchor, args.speed)
    settings = load_settings(require_channels=True)
    configure_logging(settings.pulse_log_format, Redactor.from_settings(settings))  # type: ignore[arg-type]
    service = Service(ServiceConfig.from_settings(settings), settings.retention(), clock=clock)
    tune_gc()
    print(f"ingester: {asyncio.run(_serve(service))}", flush=True)


if __name__ == "__main__":
    main()
