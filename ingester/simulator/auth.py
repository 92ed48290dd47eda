"""Access tokens of the simulated server: which account each belongs to and which scopes it has."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Grant:
    token: str
    account_id: str
    channel: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """`read` covers every `read:*` scope, as in Doorkeeper's scope hierarchy."""
        top = scope.split(":", 1)[0]
        return scope in self.scopes or top in self.scopes


def bearer(request: web.BaseRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def redact(token: str) -> str:
    """For logs: never the whole token."""
    return token[:4] + "…" if len(token) > 8 else "…"
