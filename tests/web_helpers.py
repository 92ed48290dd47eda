"""Helpers for the entry-page tests: store data written through the real sink, the real app served on a
real socket, and a WebFinger stand-in speaking RFC 7033 as Mastodon does."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from ingester.events import Account, DeleteEvent, EditEvent, Relation, Source, StatusEvent
from ingester.sink import Sink
from ingester.store import upsert_channel
from ingester.web.app import create_app
from ingester.web.config import WebSettings
from ingester.web.conversations import CachedConversations, StoreConversations
from ingester.web.counters import EntryCounters, SourcePolicy
from ingester.web.reply import Destinations

CH = "amsterdam"
BASE = "https://social.amsterdam.example"
CITY = Account(key="k-city", acct="praatmee", url=f"{BASE}/@praatmee")
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def resident(n: int) -> Account:
    return Account(key=f"k-res-{n}", acct=f"bewoner{n}@mastodon.example", url=f"https://mastodon.example/@bewoner{n}")


@dataclass
class Store:
    """Writes statuses through the real Sink, numbering ids so that they sort like Mastodon's."""

    pool: asyncpg.Pool
    next_id: int = 110000000000000000
    events: list[Any] = field(default_factory=list)

    def _id(self) -> str:
        self.next_id += 1000
        return str(self.next_id)

    async def channel(self) -> None:
        await upsert_channel(self.pool, CH, "1", CITY.key, CITY.acct, BASE)

    async def post(self, text: str, tags: tuple[str, ...] = (), minutes_ago: float = 30,
                   visibility: str = "public") -> StatusEvent:
        sid = self._id()
        ev = StatusEvent(channel=CH, status_id=sid, created_at=NOW - timedelta(minutes=minutes_ago),
                         relation=Relation.OWN_POST, account=CITY, url=f"{BASE}/@praatmee/{sid}", tags=tags,
                         content=text, language="nl", visibility=visibility, source=Source.STREAM)
        await Sink(self.pool).write([ev])
        return ev

    async def reply(self, parent: StatusEvent, text: str, who: int = 1, minutes_after: float = 1,
                    visibility: str = "public", city: bool = False) -> StatusEvent:
        sid = self._id()
        account = CITY if city else resident(who)
        ev = StatusEvent(channel=CH, status_id=sid, created_at=parent.created_at + timedelta(minutes=minutes_after),
                         relation=Relation.OWN_POST if city else Relation.REPLY, account=account,
                         in_reply_to_id=parent.status_id, in_reply_to_account_id="1",
                         url=f"{account.url}/{sid}", content=text, language="nl", visibility=visibility,
                         mentions_channel=not city, source=Source.STREAM)
        await Sink(self.pool).write([ev])
        return ev

    async def edit(self, status: StatusEvent, text: str) -> None:
        new = status.model_copy(update={"content": text, "edited_at": status.created_at + timedelta(minutes=5)})
        await Sink(self.pool).write([EditEvent(status=new)])

    async def delete(self, status: StatusEvent) -> None:
        await Sink(self.pool).write([DeleteEvent(channel=CH, status_id=status.status_id,
                                                 observed_at=datetime.now(timezone.utc), source=Source.STREAM)])


def settings(**kw: Any) -> WebSettings:
    base = dict(channel=CH, mastodon_base_url=BASE, signup_url=f"{BASE}/auth/sign_up", cache_seconds=0.3,
                flush_seconds=0.2, timezone="Europe/Amsterdam")
    base.update(kw)
    return WebSettings(**base)


class StaticResolver(AbstractResolver):
    """Resolves the names it was given to fixed addresses, like a tiny zone file (and nothing else)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        if host not in self.names:
            raise OSError(f"{host}: name not known")
        return [{"hostname": host, "host": self.names[host], "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@dataclass
class WebFingerStandIn:
    """Answers `GET /.well-known/webfinger?resource=acct:user@host` with a Mastodon-shaped JRD, and
    `/.well-known/nodeinfo` like any Mastodon server. Records every request it receives."""

    users: set[str]
    template: str = "https://{host}/authorize_interaction?uri={{uri}}"
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        import asyncio

        async def webfinger(request: web.Request) -> web.Response:
            self.requests.append(str(request.rel_url))
            if self.delay:
                await asyncio.sleep(self.delay)
            resource = request.query.get("resource", "")
            if not resource.startswith("acct:") or resource[5:] not in self.users:
                return web.Response(status=404)
            user, host = resource[5:].split("@")
            jrd = {"subject": resource, "aliases": [f"https://{host}/@{user}"], "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"https://{host}/@{user}"},
                {"rel": "self", "type": "application/activity+json", "href": f"https://{host}/users/{user}"},
                {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": self.template.format(host=host)},
            ]}
            return web.Response(text=json.dumps(jrd), content_type="application/jrd+json")

        async def nodeinfo(request: web.Request) -> web.Response:
            self.requests.append(str(request.rel_url))
            return web.json_response({"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                                                 "href": f"http://{request.host}/nodeinfo/2.0"}]})

        app = web.Application()
        app.router.add_get("/.well-known/webfinger", webfinger)
        app.router.add_get("/.well-known/nodeinfo", nodeinfo)
        return app


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def build_app(pool: asyncpg.Pool, web_settings: WebSettings | None = None,
              destinations: Destinations | None = None, counters: EntryCounters | None = None,
              ) -> tuple[web.Application, CachedConversations, EntryCounters]:
    s = web_settings or settings()
    store = StoreConversations(pool, s.channel, s.formats, s.live_hours, s.replies)
    cache = CachedConversations(store.load, ttl=s.cache_seconds)
    counters = counters or EntryCounters(s.timezone, SourcePolicy(s.sources, s.source_cap))
    dest = destinations or Destinations(2.0)
    return create_app(s, cache, counters, dest), cache, counters


Clock = Callable[[], datetime]
