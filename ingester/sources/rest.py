"""The Mastodon REST boundary: Mastodon.py, run off the event loop, with the server's real failure modes.

- 429 carries no `Retry-After`: sleep until `X-RateLimit-Reset` (Mastodon.py parses it into `ratelimit_reset`).
- 5xx, timeouts and refused connections: capped exponential backoff with jitter (tenacity), logged as such.
- 401/403: fatal, with a message that says what is wrong (token invalid/revoked, or a missing scope).

The `requests.Session` is injected (as httpx's `transport=`): it adds `include_filtered=true` to notification
pages (Mastodon.py's v1 call has no such parameter, and filtered notifications are otherwise hidden) and records
the rate-limit headers of every answer for the metrics and the thread poller's budget.
"""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import datetime, timezone
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
import structlog
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    wait_random_exponential,
)

log = structlog.get_logger("ingester.rest")
T = TypeVar("T")
PAGE_LIMIT = 80  # the v1 notifications maximum since Mastodon 4.1


class RestFatal(Exception):
    """The server refuses us for a reason a retry cannot fix. `str()` is one readable line."""


class RestUnavailable(Exception):
    """Transient: server error, timeout, refused connection."""


@dataclass
class RateLimit:
    limit: int | None = None
    remaining: int | None = None
    reset_epoch: float | None = None

    def share_left(self) -> float:
        if not self.limit or self.remaining is None:
            return 1.0
        return self.remaining / self.limit


class PulseSession(requests.Session):
    """requests.Session that adds `include_filtered` to notification pages and records rate-limit headers."""

    def __init__(self) -> None:
        super().__init__()
        self.rate = RateLimit()
        self.requests_made = 0

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        path = requests.utils.urlparse(str(url)).path
        if method.upper() == "GET" and path.rstrip("/") == "/api/v1/notifications":
            params = dict(kwargs.get("params") or {})
            params.setdefault("include_filtered", "true")
            kwargs["params"] = params
        self.requests_made += 1
        resp = super().request(method, url, *args, **kwargs)
        h = resp.headers
        try:
            if "X-RateLimit-Limit" in h:
                self.rate.limit = int(h["X-RateLimit-Limit"])
            if "X-RateLimit-Remaining" in h:
                self.rate.remaining = int(h["X-RateLimit-Remaining"])
        except ValueError:
            pass
        return resp


def to_plain(value: Any) -> Any:
    """Mastodon.py returns typed dict/str subclasses with parsed datetimes; give the normaliser plain JSON
    values again, so REST payloads look exactly like stream payloads and the shared golden files."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    return value


class _PlainMastodon(Mastodon):
    """Mastodon.py returning the server's JSON as parsed, without its typed-object casting.

    The casting (`try_cast_recurse` into AttribAccessDicts with parsed datetimes) costs about 2.5 ms of
    CPU per status or notification, some 30 times the rest of a request, and `to_plain` undoes it at
    once. Catch-up re-reads every notification and re-polls threads, so with the casting the REST side
    could not keep pace with a busy channel: after a storm of gaps the catch-up fell minutes behind.
    Overriding the (name-mangled) hook is safe: if a Mastodon.py version renames it, the override is
    simply unused and `to_plain` still turns the typed answer into plain JSON values.
    """

    def _Mastodon__try_cast_to_type(self, value: Any, override_type: Any = None) -> tuple[Any, None]:
        return value, None


def _describe_auth_error(exc: MastodonAPIError, what: str) -> str:
    status = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(exc, MastodonUnauthorizedError) or status == 401:
        return f"MASTODON_ACCESS_TOKEN: rejected by the server (401 on {what}): the token is invalid or was revoked"
    return (
        f"MASTODON_ACCESS_TOKEN: not allowed (403 on {what}): the token lacks a scope; "
        "it needs read (or read:accounts, read:notifications and read:statuses)"
    )


class MastodonRest:
    """Async facade over Mastodon.py for one channel's server and token."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        request_timeout: float = 15.0,
        max_backoff: float = 60.0,
        max_attempts: int | None = None,  # None: retry transient errors forever (the service); `check`: 1
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = PulseSession()
        self._api = _PlainMastodon(
            api_base_url=self.base_url,
            access_token=token.get_secret_value(),
            ratelimit_method="throw",
            request_timeout=request_timeout,
            version_check_mode="none",
            session=self.session,
        )
        self._max_backoff = max_backoff
        self._max_attempts = max_attempts
        self._sleep = sleep
        self.ratelimit_waits = 0
        self.retries = 0

    @property
    def rate(self) -> RateLimit:
        self.session.rate.reset_epoch = self._api.ratelimit_reset
        return self.session.rate

    async def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one Mastodon.py call in a worker thread, waiting out 429s and retrying transient errors."""

        def before_sleep(state: RetryCallState) -> None:
            self.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "mastodon unreachable, retrying",
                call=what,
                attempt=state.attempt_number,
                error=type(exc).__name__ if exc else None,
                wait_s=round(state.next_action.sleep, 2) if state.next_action else None,
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RestUnavailable),
            wait=wait_random_exponential(multiplier=0.5, max=self._max_backoff),
            stop=stop_never if self._max_attempts is None else stop_after_attempt(self._max_attempts),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._call_once(what, fn, *args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_once(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        while True:
            try:
                return to_plain(await asyncio.to_thread(functools.partial(fn, *args, **kwargs)))
            except MastodonRatelimitError:
                reset = self._api.ratelimit_reset
                wait = max(0.5, (reset - time.time()) if reset else 5.0)
                self.ratelimit_waits += 1
                log.warning("rate limited (429), waiting for X-RateLimit-Reset", call=what, wait_s=round(wait, 1))
                await self._sleep(min(wait, 15 * 60))
            except MastodonNotFoundError:
                raise
            except (MastodonServerError, MastodonNetworkError) as exc:
                raise RestUnavailable(f"{what}: {type(exc).__name__}") from None
            except MastodonAPIError as exc:
                status = exc.args[1] if len(exc.args) > 1 else None
                if isinstance(exc, MastodonUnauthorizedError) or status in (401, 403):
                    raise RestFatal(_describe_auth_error(exc, what)) from None
                raise

    # -- endpoints the ingester uses --------------------------------------------------------

    async def verify_credentials(self) -> dict[str, Any]:
        return await self.call("verify_credentials", self._api.account_verify_credentials)

    async def streaming_base(self) -> str:
        """The streaming host the server announces: v2 configuration.urls.streaming, then v1, then the base URL."""
        for what, fn, path in (
            ("instance v2", self._api.instance_v2, ("configuration", "urls", "streaming")),
            ("instance v1", self._api.instance_v1, ("urls", "streaming_api")),
        ):
            try:
                node: Any = await self.call(what, fn)
                for key in path:
                    node = node.get(key) if isinstance(node, dict) else None
                if isinstance(node, str) and node.startswith(("ws://", "wss://", "http://", "https://")):
                    return node.rstrip("/")
            except (MastodonAPIError, RestUnavailable):
                continue
        return self.base_url

    async def notifications(
        self, *, min_id: str | None = None, max_id: str | None = None, types: list[str] | None = None
    ) -> list[dict[str, Any]]:
        return list(
            await self.call(
                "notifications", self._api.notifications, min_id=min_id, max_id=max_id, types=types, limit=PAGE_LIMIT
            )
        )

    async def account_statuses(
        self, account_id: str, *, min_id: str | None = None, max_id: str | None = None
    ) -> list[dict[str, Any]]:
        return list(
            await self.call(
                "account statuses", self._api.account_statuses, account_id, min_id=min_id, max_id=max_id, limit=40
            )
        )

    async def tag_timeline(
        self, tag: str, *, min_id: str | None = None, max_id: str | None = None
    ) -> list[dict[str, Any]]:
        return list(
            await self.call("tag timeline", self._api.timeline_hashtag, tag, min_id=min_id, max_id=max_id, limit=40)
        )

    async def status(self, status_id: str) -> dict[str, Any] | None:
        """The status, or None when the server answers 404 (deleted or no longer visible)."""
        try:
            return await self.call("status", self._api.status, status_id)
        except MastodonNotFoundError:
            return None

    async def context(self, status_id: str) -> dict[str, Any] | None:
        try:
            return await self.call("context", self._api.status_context, status_id)
        except MastodonNotFoundError:
            return None
