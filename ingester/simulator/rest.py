"""The web host: the REST endpoints a collector uses, with Mastodon's paging, errors and throttles.

Paging follows app/models/concerns/paginable.rb (PROTOCOL.md §8): newest first; `max_id` strictly
older; `since_id` the newest page above the cursor (gaps on bursts); `min_id` the page right after
the cursor (wins over since_id). `Link` carries rel="next" (max_id) and rel="prev" (min_id) and keeps
the filter parameters; an empty page has no Link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from ingester.simulator import render
from ingester.simulator.auth import Grant, bearer
from ingester.simulator.faults import Faults
from ingester.simulator.instance import instance_v1, instance_v2
from ingester.simulator.ratelimit import PAGING_PARAMS, RateLimiter, Verdict
from ingester.simulator.records import NotificationRow, StatusRow
from ingester.simulator.timeline import Timeline
from ingester.simulator.world import World, public_original

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INVALID_TOKEN = "The access token is invalid"
GRANT = web.RequestKey("grant", Grant)
KEEP_IN_LINKS = ("limit", "types[]", "exclude_types[]", "account_id", "include_filtered")
ERROR_TEXT = {429: "Too many requests", 500: "We're sorry, but something went wrong on our end.",
              502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _int_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None  # Rails casts junk to a no-op cursor rather than failing


def limit_of(query: Any, default: int, maximum: int) -> int:
    """limit_param: out-of-range values are clamped silently; junk falls back to the default."""
    try:
        value = abs(int(query.get("limit", default)))
    except ValueError:
        return default
    return max(1, min(value, maximum))


def paginate(items: Sequence[T], key: Callable[[T], int], query: Any, default: int = 40, maximum: int = 80) -> list[T]:
    """`items` newest first; returns the page newest first (paginable.rb semantics)."""
    limit = limit_of(query, default, maximum)
    max_id, since_id, min_id = (_int_id(query.get(k)) for k in ("max_id", "since_id", "min_id"))
    below = [x for x in items if max_id is None or key(x) < max_id]
    if min_id is not None:  # ascending from the cursor, then reversed
        return [x for x in below if key(x) > min_id][-limit:]
    return [x for x in below if since_id is None or key(x) > since_id][:limit]


class RestHost:
    def __init__(
        self, world: World, grants: Callable[[str], Grant | None], limiter: RateLimiter, faults: Faults,
        streaming_url: Callable[[], str],
    ) -> None:
        self.world, self._grants, self.limiter, self.faults = world, grants, limiter, faults
        self._streaming_url = streaming_url
        self.requests = 0

    def app(self, extra_routes: Callable[[web.Application], None] | None = None) -> web.Application:
        app = web.Application(middlewares=[self._middleware])

        def get(path: str, handler: Handler) -> None:
            # Rails routes accept a trailing slash, and Mastodon.py sends one on some endpoints.
            app.router.add_get(path, handler)
            app.router.add_get(path + "/", handler)

        get("/api/v1/instance", self.instance1)
        get("/api/v2/instance", self.instance2)
        app.router.add_get("/api/v1/streaming", self.streaming_redirect)
        app.router.add_get("/api/v1/streaming/{tail:.*}", self.streaming_redirect)
        get("/api/v1/accounts/verify_credentials", self.verify_credentials)
        get("/api/v1/accounts/{id}", self.account)
        get("/api/v1/accounts/{id}/statuses", self.account_statuses)
        get("/api/v1/notifications", self.notifications)
        get("/api/v1/notifications/{id}", self.notification)
        get("/api/v1/statuses/{id}", self.status)
        get("/api/v1/statuses/{id}/context", self.context)
        get("/api/v1/statuses/{id}/favourited_by", self.favourited_by)
        get("/api/v1/statuses/{id}/reblogged_by", self.reblogged_by)
        get("/api/v1/timelines/tag/{tag}", self.tag_timeline)
        if extra_routes:
            extra_routes(app)
        return app

    # -- cross-cutting: faults, auth, rate limits ------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sim/") or request.path.startswith("/api/v1/streaming"):
            return await handler(request)
        self.requests += 1
        token = bearer(request)
        key = f"token:{token}" if token else f"ip:{request.remote}"
        failure = self.faults.take_rest_failure()
        if failure is not None:
            verdict = self.limiter.exhausted(key) if failure == 429 else self.limiter.peek(key)
            return self._error(failure, ERROR_TEXT[failure], verdict)
        verdict = self.limiter.hit(key, paging=any(p in request.query for p in PAGING_PARAMS))
        if not verdict.allowed:
            return self._error(429, "Too many requests", verdict)
        grant = self._grants(token) if token else None
        if token and grant is None:
            return self._error(401, INVALID_TOKEN, verdict)
        request[GRANT] = grant
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            response = web.json_response({"error": "Not Found"}, status=404)
        except _ApiError as exc:
            response = self._error(exc.status, exc.message, None)
        response.headers.update(verdict.headers())
        return response

    @staticmethod
    def _error(status: int, message: str, verdict: Verdict | None) -> web.Response:
        resp = web.json_response({"error": message}, status=status)
        if status == 401:
            resp.headers["WWW-Authenticate"] = (
                f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{message}"'
            )
        if verdict is not None:
            resp.headers.update(verdict.headers())
        return resp

    @staticmethod
    def _require(request: web.Request, scope: str) -> Grant:
        grant: Grant | None = request.get(GRANT)
        if grant is None:
            raise _ApiError(401, INVALID_TOKEN)
        if not grant.allows(scope):
            raise _ApiError(403, "This action is outside the authorized scopes")
        return grant

    def _json(self, body: Any, request: web.Request | None = None, ids: Sequence[str] = ()) -> web.Response:
        """A JSON answer; with `ids` (the page's cursors, newest first) also the Link header."""
        resp = web.Response(text=render.dumps(body), content_type="application/json", charset="utf-8")
        resp.headers["Cache-Control"] = "private, no-store"
        resp.headers["Vary"] = "Authorization, Origin"
        if request is not None and ids:
            resp.headers["Link"] = self._link(request, ids[-1], ids[0])
        return resp

    def _link(self, request: web.Request, last_id: str, first_id: str) -> str:
        kept = [(k, v) for k, v in request.query.items() if k in KEEP_IN_LINKS]
        if "types" in request.query or "exclude_types" in request.query:  # unbracketed spelling
            kept += [(k + "[]", v) for k, v in request.query.items() if k in ("types", "exclude_types")]
        base = f"{self.world.base_url}{request.path}"

        def url(cursor: str, value: str) -> str:
            return f"{base}?{urlencode(sorted(kept + [(cursor, value)], key=lambda kv: kv[0]))}"

        return f'<{url("max_id", last_id)}>; rel="next", <{url("min_id", first_id)}>; rel="prev"'

    @staticmethod
    def _page(timeline: Timeline[T], keep: Callable[[T], bool], query: Any,
              default: int = 40, maximum: int = 80) -> list[T]:
        """`paginate` over the kept rows, walked from the cursor: O(page), not O(all rows)."""
        max_id, since_id, min_id = (_int_id(query.get(k)) for k in ("max_id", "since_id", "min_id"))
        return timeline.page(keep, limit_of(query, default, maximum), max_id=max_id, since_id=since_id, min_id=min_id)

    def _status_or_404(self, status_id: str) -> Any:
        row = self.world.status(status_id)
        if row is None or not row.live or row.reblog_of_id is not None:
            raise web.HTTPNotFound()
        return row

    # -- endpoints -----------------------------------------------------------------------

    async def instance1(self, request: web.Request) -> web.Response:
        return self._json(instance_v1(self.world, self._streaming_url()))

    async def instance2(self, request: web.Request) -> web.Response:
        return self._json(instance_v2(self.world, self._streaming_url()))

    async def streaming_redirect(self, request: web.Request) -> web.StreamResponse:
        """Api::V1::StreamingController: same path and query, streaming host and port."""
        raise web.HTTPMovedPermanently(self._streaming_url().replace("ws://", "http://", 1) + request.path_qs)

    async def verify_credentials(self, request: web.Request) -> web.Response:
        grant = self._require(request, "read:accounts")
        return self._json(render.credential_account(self.world, self.world.account(grant.account_id)))

    async def account(self, request: web.Request) -> web.Response:
        acc = self.world.accounts.get(request.match_info["id"])
        if acc is None:
            raise web.HTTPNotFound()
        return self._json(render.account(self.world, acc))

    async def account_statuses(self, request: web.Request) -> web.Response:
        if request.match_info["id"] not in self.world.accounts:
            raise web.HTTPNotFound()
        q = request.query
        no_replies, no_reblogs = (q.get(k) in ("true", "1") for k in ("exclude_replies", "exclude_reblogs"))

        def keep(s: StatusRow) -> bool:
            return (s.live and not (no_replies and s.in_reply_to_id)
                    and not (no_reblogs and s.reblog_of_id is not None))

        page = self._page(self.world.authored(request.match_info["id"]), keep, q, default=20, maximum=40)
        return self._json([render.status(self.world, s) for s in page], request, [s.id for s in page])

    async def notifications(self, request: web.Request) -> web.Response:
        grant = self._require(request, "read:notifications")
        q = request.query
        include_filtered = q.get("include_filtered", "").lower() in ("true", "1")
        types = set(q.getall("types[]", []) + q.getall("types", []))
        excluded = set(q.getall("exclude_types[]", []) + q.getall("exclude_types", []))
        sender = q.get("account_id")

        def keep(n: NotificationRow) -> bool:
            return (not n.removed and (include_filtered or not n.filtered)
                    and (not types or n.type in types) and n.type not in excluded
                    and (sender is None or n.from_account_id == sender))

        page = self._page(self.world.inbox(grant.account_id), keep, q)
        return self._json([render.notification(self.world, n) for n in page], request, [n.id for n in page])

    async def notification(self, request: web.Request) -> web.Response:
        grant = self._require(request, "read:notifications")
        n = self.world.notification(grant.account_id, request.match_info["id"])
        if n is None:
            raise web.HTTPNotFound()
        return self._json(render.notification(self.world, n))

    async def status(self, request: web.Request) -> web.Response:
        return self._json(render.status(self.world, self._status_or_404(request.match_info["id"])))

    async def context(self, request: web.Request) -> web.Response:
        row = self._status_or_404(request.match_info["id"])
        return self._json({
            "ancestors": [render.status(self.world, s) for s in self.world.ancestors(row.id)],
            "descendants": [render.status(self.world, s) for s in self.world.descendants(row.id)],
        })

    async def favourited_by(self, request: web.Request) -> web.Response:
        return self._interactors(request, "favourite")

    async def reblogged_by(self, request: web.Request) -> web.Response:
        return self._interactors(request, "reblog")

    def _interactors(self, request: web.Request, kind: str) -> web.Response:
        row = self._status_or_404(request.match_info["id"])
        rows = paginate(self.world.interactions_on(kind, row.id), lambda r: int(r.id), request.query)
        accounts = [render.account(self.world, self.world.account(r.account_id)) for r in rows]
        # The Link cursors are internal favourite/boost row ids, not account ids (http/favourited-by.http).
        return self._json(accounts, request, [r.id for r in rows])

    async def tag_timeline(self, request: web.Request) -> web.Response:
        tagged = self.world.tagged(request.match_info["tag"].lower())
        page = self._page(tagged, public_original, request.query, default=20, maximum=40)
        return self._json([render.status(self.world, s) for s in page], request, [s.id for s in page])


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message
