"""'Reageer direct': send a resident to reply from the Mastodon account they already have.

Input is a server name (`mastodon.social`) or a handle (`@naam@mastodon.social`), nothing else: no URL
with a path, no port, no IP address, no internal name. Parsing is pure (`parse_target`); the network
part (`Destinations`) is injected into the app so tests can point it at a local stand-in:

- a handle: WebFinger (RFC 7033) on the handle's host, `GET /.well-known/webfinger?resource=acct:…`,
  and the `http://ostatus.org/schema/1.0/subscribe` link's template with `{uri}` filled in (Mastodon
  publishes `https://server/authorize_interaction?uri={uri}`);
- a bare server: `https://{server}/authorize_interaction?uri=…` once the server answers at all.

Every address a look-up connects to is resolved through `PublicOnlyResolver`, which refuses loopback,
private, link-local and other non-global addresses (so the form cannot be used to probe the city's
own network), redirects are followed by hand (each hop's host checked again), bodies are capped and
the whole look-up is bounded in time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
MAX_BODY = 64 * 1024
MAX_REDIRECTS = 3

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
# Names that never belong to a public Mastodon server (RFC 6761/6762/8375 and common internal suffixes).
_INTERNAL = ("localhost", "local", "internal", "home.arpa", "lan", "intranet", "corp", "invalid", "onion")


class LookupFailed(Exception):
    """The resident's server could not tell us where to send them; `reason` picks the message."""

    def __init__(self, reason: str, host: str) -> None:
        super().__init__(reason)
        self.reason = reason  # invalid | forbidden | unreachable | no_template
        self.host = host


class ForbiddenAddress(OSError):
    """A name resolved only to non-public addresses."""


@dataclass(frozen=True)
class Target:
    host: str
    user: str | None = None  # None: a bare server

    @property
    def handle(self) -> str | None:
        return f"{self.user}@{self.host}" if self.user else None


def parse_host(text: str) -> str | None:
    """A public-looking DNS name in lower-case ASCII (IDNA), or None."""
    host = text.strip().rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if not host or len(host) > 253:
        return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(lab) for lab in labels) or not _TLD.match(labels[-1]):
        return None  # also every IPv4 literal (numeric last label); IPv6 fails the label rule
    if any(host == s or host.endswith("." + s) for s in _INTERNAL):
        return None
    return host


def parse_target(text: str) -> Target | None:
    """`mastodon.social`, `https://mastodon.social/`, `@naam@mastodon.social` or `naam@mastodon.social`."""
    value = (text or "").strip()
    if not value or len(value) > 300 or any(c.isspace() for c in value):
        return None
    lowered = value.lower()
    for prefix in ("https://", "http://"):
        if lowered.startswith(prefix):
            value = value[len(prefix):].rstrip("/")
            break
    if value.startswith("@"):
        value = value[1:]
    user, sep, host_text = value.rpartition("@")
    if sep and not _USER.match(user):
        return None
    host = parse_host(host_text)
    if host is None:
        return None
    return Target(host=host, user=user if sep else None)


def public_address(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_global
    except ValueError:
        return False


class PublicOnlyResolver(AbstractResolver):
    """Wraps a resolver; answers only the global unicast addresses of a name, or raises ForbiddenAddress."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self.inner = inner or DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        infos = await self.inner.resolve(host, port, family)
        allowed = [i for i in infos if public_address(i["host"])]
        if not allowed:
            raise ForbiddenAddress(f"{host}: no public address")
        return allowed

    async def close(self) -> None:
        await self.inner.close()


def _forbidden(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ForbiddenAddress) or isinstance(getattr(seen, "os_error", None), ForbiddenAddress):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Destinations:
    """Where to send a resident to reply to `uri` from their own server. One client session, reused."""

    def __init__(self, timeout: float = 4.0, *, resolver: AbstractResolver | None = None, scheme: str = "https",
                 port: int | None = None) -> None:
        # scheme/port: where the look-ups go (tests: a plain-http stand-in); the resident is always sent to https
        self.timeout = timeout
        self._resolver = resolver if resolver is not None else PublicOnlyResolver()
        self.scheme, self.port = scheme, port
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=self._resolver, limit=50, ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": "PraatmeePulse/1 (+entry page)"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _base(self, host: str) -> str:
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port else "")

    async def destination(self, target: Target, uri: str) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                if target.user is None:
                    await self._get(target.host, f"{self._base(target.host)}/.well-known/nodeinfo")
                    return f"https://{target.host}/authorize_interaction?uri={quote(uri, safe='')}"
                query = "resource=" + quote(f"acct:{target.handle}", safe=":@")
                status, body = await self._get(target.host, f"{self._base(target.host)}/.well-known/webfinger?{query}")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise LookupFailed("forbidden" if _forbidden(exc) else "unreachable", target.host) from None
        if status != 200:
            raise LookupFailed("no_template", target.host)
        return self._subscribe(target.host, body, uri)

    async def _get(self, host: str, url: str) -> tuple[int, bytes]:
        """GET with redirects followed by hand: each hop must be a public-looking name on our scheme."""
        for _ in range(MAX_REDIRECTS + 1):
            async with self._client().get(url, allow_redirects=False,
                                          headers={"Accept": "application/jrd+json, application/json"}) as resp:
                if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                    nxt = urljoin(url, resp.headers["Location"])
                    parts = urlsplit(nxt)
                    if parts.scheme != self.scheme or parse_host(parts.hostname or "") is None:
                        raise LookupFailed("forbidden", host)
                    if (parts.port or None) != (self.port or None):
                        raise LookupFailed("forbidden", host)
                    url = nxt
                    continue
                body = await resp.content.read(MAX_BODY + 1)
                if len(body) > MAX_BODY:
                    raise LookupFailed("no_template", host)
                if resp.status >= 500:
                    raise LookupFailed("unreachable", host)
                return resp.status, body
        raise LookupFailed("unreachable", host)

    def _subscribe(self, host: str, body: bytes, uri: str) -> str:
        try:
            jrd: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise LookupFailed("no_template", host) from None
        links = jrd.get("links") if isinstance(jrd, dict) else None
        for link in links if isinstance(links, list) else []:
            if not isinstance(link, dict) or link.get("rel") != SUBSCRIBE_REL:
                continue
            template = link.get("template")
            if not isinstance(template, str) or "{uri}" not in template:
                continue
            url = template.replace("{uri}", quote(uri, safe=""))
            if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url) or len(url) > 2000:
                continue  # a header value must not carry line breaks or spaces
            parts = urlsplit(url)
            if parts.scheme == "https" and parse_host(parts.hostname or "") is not None \
                    and not parts.username and not parts.password:
                return url
        raise LookupFailed("no_template", host)
