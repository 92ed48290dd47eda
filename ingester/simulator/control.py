"""The small HTTP control API under `/_sim/` on the web host (faults, progress, ground truth).

    POST /_sim/drop                         drop every open streaming socket now
    POST /_sim/drop_every?seconds=S         ... every S seconds (0 stops)
    POST /_sim/refuse?seconds=S             answer streaming connects with 503 for S seconds
    POST /_sim/fail?status=429&count=K      fail the next K REST requests (or &seconds=S)
    POST /_sim/stall?seconds=S              open sockets go silent (no frames, no pings) for S seconds
    POST /_sim/clear                        stop all faults
    GET  /_sim/faults | /_sim/progress | /_sim/ground_truth
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from ingester.simulator.server import Simulator


def _number(request: web.Request, name: str, *, required: bool = True) -> float | None:
    raw = request.query.get(name)
    if raw is None:
        if required:
            raise web.HTTPBadRequest(text=f'{{"error":"missing parameter {name}"}}', content_type="application/json")
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise web.HTTPBadRequest(text=f'{{"error":"{name} must be a number >= 0"}}', content_type="application/json")
    return value


def routes(sim: Simulator) -> Callable[[web.Application], None]:
    faults = sim.faults

    def wrap(fn: Callable[[web.Request], Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return web.json_response(fn(request))
        return handler

    def drop(_: web.Request) -> dict[str, Any]:
        return {"dropped": faults.drop_all()}

    def drop_every(r: web.Request) -> dict[str, Any]:
        faults.drop_every(_number(r, "seconds"))
        return {"ok": True}

    def refuse(r: web.Request) -> dict[str, Any]:
        faults.refuse_reconnects(_number(r, "seconds") or 0.0)
        return {"ok": True}

    def fail(r: web.Request) -> dict[str, Any]:
        status = int(_number(r, "status", required=False) or 503)
        count, seconds = _number(r, "count", required=False), _number(r, "seconds", required=False)
        try:
            faults.fail_rest(status, count=int(count) if count is not None else None, seconds=seconds)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f'{{"error":"{exc}"}}', content_type="application/json") from None
        return {"ok": True}

    def stall(r: web.Request) -> dict[str, Any]:
        return {"stalled": faults.stall(_number(r, "seconds") or 0.0)}

    def clear(_: web.Request) -> dict[str, Any]:
        faults.clear()
        return {"ok": True}

    def register(app: web.Application) -> None:
        post = {"drop": drop, "drop_every": drop_every, "refuse": refuse, "fail": fail, "stall": stall, "clear": clear}
        for name, fn in post.items():
            app.router.add_post(f"/_sim/{name}", wrap(fn))
        app.router.add_get("/_sim/faults", wrap(lambda _: faults.snapshot()))
        app.router.add_get("/_sim/progress", wrap(lambda _: sim.progress()))
        app.router.add_get("/_sim/ground_truth", wrap(lambda _: sim.ground_truth().model_dump(mode="json")))

    return register
