"""Helpers for the entry-page tests: store data written through the real sink, the real app served on a
real socket, and a WebFinger stand-in speaking RFC 7033 as Mastodon does."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

import pytest

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


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small asyncpg pool on the test's database (import this fixture into a test module to use it)."""
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


async def start_web(database_url: str, log: Path, **env_vars: str) -> tuple[asyncio.subprocess.Process, str]:
    """`ingester web` as its own process on a free port, with only these settings; returns it and its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, PULSE_WEB_PORT="0", PULSE_WEB_HOST="127.0.0.1", PULSE_LOG_FORMAT="json",
               **env_vars)
    out = log.open("wb")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ingester", "web", env=env, stdout=out,
                                                stderr=out, stdin=asyncio.subprocess.DEVNULL)
    for _ in range(300):
        m = re.search(r"listening on [\d.]+:(\d+)", log.read_text(errors="replace"))
        if m:
            return proc, f"http://127.0.0.1:{m.group(1)}"
        assert proc.returncode is None, log.read_text()
        await asyncio.sleep(0.05)
    raise AssertionError("ingester web did not start: " + log.read_text())
