"""Sending the answer through the Graph API, in the background, retried with backoff.

Meta expects the webhook's 200 within seconds and retries it otherwise, so the answer never waits
on the send: each send is a task in an `Outbox`, bounded in number, drained on shutdown.
Logs name the outcome and HTTP status only — never the recipient or the Graph API's error text,
which may quote the number.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from ingester.keyword.whatsapp import text_message

log = structlog.get_logger("ingester.keyword")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_wait: float = 0.5  # seconds; doubles per attempt, with jitter, up to max_wait
    max_wait: float = 8.0
    timeout: float = 10.0  # per attempt


DEFAULT_RETRY = RetryPolicy()


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GraphSender:
    def __init__(
        self, session: aiohttp.ClientSession, graph_url: str, phone_number_id: str, token: str, policy: RetryPolicy
    ) -> None:
        self._session, self._token, self._policy = session, token, policy
        self._url = f"{graph_url.rstrip('/')}/{phone_number_id}/messages"

    async def _attempt(self, payload: dict[str, Any]) -> int:
        try:
            async with self._session.post(
                self._url,
                json=payload,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=aiohttp.ClientTimeout(total=self._policy.timeout),
            ) as response:
                await response.read()
                if response.status == 429 or response.status >= 500:
                    raise _Retryable(f"http {response.status}")
                return response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _Retryable(type(exc).__name__) from None

    async def send(self, to: str, body: str) -> bool:
        """True when the Graph API accepted the message; never raises."""
        payload = text_message(to, body)
        p = self._policy

        def _retrying(state: RetryCallState) -> None:  # before each wait, as batcher and runner log theirs
            exc = state.outcome.exception() if state.outcome else None
            log.info("keyword.whatsapp_send_retry", attempt=state.attempt_number, reason=getattr(exc, "reason", None))

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(p.attempts),
                wait=wait_exponential(multiplier=p.first_wait, max=p.max_wait) + wait_random(0, p.first_wait),
                retry=retry_if_exception_type(_Retryable),
                before_sleep=_retrying,
                reraise=True,
            ):
                with attempt:
                    status = await self._attempt(payload)
        except _Retryable as exc:
            log.warning("keyword.whatsapp_send_failed", attempts=p.attempts, reason=exc.reason)
            return False
        if 200 <= status < 300:
            log.info("keyword.whatsapp_sent", attempts=attempt.retry_state.attempt_number)
            return True
        log.warning("keyword.whatsapp_send_refused", status=status)  # 4xx: retrying will not help
        return False


class Outbox:
    """Background sends: at most `limit` in flight; on close, wait `grace` seconds, then cancel."""

    def __init__(self, limit: int = 200) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._limit = limit

    def submit(self, coro: Coroutine[Any, Any, Any]) -> bool:
        if len(self._tasks) >= self._limit:
            coro.close()
            log.warning("keyword.outbox_full", limit=self._limit)
            return False
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def drain(self) -> None:
        """Wait until nothing is in flight (tests; a graceful stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            log.warning("keyword.outbox_cancelled", unsent=len(pending))
