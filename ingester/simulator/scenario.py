"""Scenarios: a realistic, deterministic session of a city's channel(s) and its residents.

The city posts a question (#VraagVanDeGemeente), a Q&A session (#QenA) and a spotlight
(#InnovatorSpotlight); residents (some on remote servers) reply, reply to each other several levels
deep, mention, quote, favourite, boost, follow, edit and delete; the city answers some replies.
The same seed gives the same session (ids differ only with wall-clock time unless backdated).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from ingester.simulator.pools import Pools
from ingester.simulator.records import StatusRow
from ingester.simulator.world import World

OPENING_POSTS = (
    ("Wat zou u veranderen aan uw buurt? Laat het ons weten!", ("vraagvandegemeente",)),
    ("Vanmiddag om 15:00 beantwoorden wij al uw vragen over afval en groen.", ("qena",)),
    ("Deze maand in de schijnwerpers: een buurtinitiatief uit Noord.", ("innovatorspotlight",)),
)
REPLIES = (
    "Meer bomen in de straat graag.", "Wanneer wordt het fietspad gerepareerd?",
    "Goed initiatief!", "Ik ben het helemaal eens.", "Kan dit ook in Zuidoost?",
    "Wat kost dit de stad?", "Mooi om te zien.", "Dat lijkt me geen goed idee.",
)
NOISE_EVENTS = ("notifications_merged", "filters_changed", "announcement", "encrypted_message")


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: int = Field(default=100, ge=1)  # actions, the channels' opening posts included
    rate: float | None = Field(default=None, gt=0)  # actions per second; None = as fast as possible
    seed: int = 1
    quiet_reply_share: float = Field(default=0.0, ge=0, le=1)  # nested replies not mentioning the city
    withdraw_share: float = Field(default=0.0, ge=0, le=1)  # un-favourites / un-boosts
    delete_share: float = Field(default=0.03, ge=0, le=1)
    edit_share: float = Field(default=0.04, ge=0, le=1)
    filtered_share: float = Field(default=0.0, ge=0, le=1)  # notifications caught by the policy
    noise_share: float = Field(default=0.01, ge=0, le=1)  # notifications_merged, announcement, ...
    post_share: float = Field(default=0.015, ge=0, le=1)  # the city's new top-level posts
    start_at: datetime | None = None  # backdating: first action's time (timezone-aware)
    time_step: timedelta = timedelta(minutes=1)  # between actions when backdated


class Player:
    """Applies a scenario's actions to a world, one at a time."""

    def __init__(self, world: World, channel_ids: list[str], resident_ids: list[str], scenario: Scenario) -> None:
        self.world, self.scenario = world, scenario
        self.channels, self.residents = channel_ids, resident_ids
        self.rng = random.Random(scenario.seed)
        self.applied = 0
        self.kinds: dict[str, int] = {}
        self.posts: list[StatusRow] = []  # the channels' top-level posts
        self.pools = Pools(world, channel_ids, resident_ids)
        self._weights: list[tuple[str, float]] = [
            ("reply", 0.34), ("favourite", 0.15), ("reblog", 0.07), ("follow", 0.04),
            ("quote", 0.04), ("mention", 0.06), ("answer", 0.07), ("post", scenario.post_share),
            ("edit", scenario.edit_share), ("delete", scenario.delete_share),
            ("withdraw", scenario.withdraw_share), ("noise", scenario.noise_share),
        ]

    def _at(self) -> datetime | None:
        s = self.scenario
        return s.start_at + s.time_step * self.applied if s.start_at else None

    def step(self) -> str:
        """Apply the next action; returns its kind."""
        opening = len(OPENING_POSTS) * len(self.channels)
        if self.applied < opening:
            kind = "post"
            self._post(self.channels[self.applied % len(self.channels)], self.applied // len(self.channels))
        else:
            names, weights = zip(*self._weights)
            kind = self.rng.choices(names, weights)[0]
            if not getattr(self, "_" + kind)():
                kind = "mention"
                self._mention()
        self.applied += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return kind

    # -- helpers -------------------------------------------------------------------------

    def _resident(self, avoid: str | None = None) -> str:
        while True:
            rid = self.rng.choice(self.residents)
            if rid != avoid:
                return rid

    def _filtered(self) -> bool:
        return self.rng.random() < self.scenario.filtered_share

    def _thread(self, root: StatusRow) -> list[StatusRow]:
        return [root, *self.world.descendants(root.id)]


    # -- actions (return False when impossible right now) ----------------------------------

    def _post(self, channel: str | None = None, index: int | None = None) -> bool:
        channel = channel or self.rng.choice(self.channels)
        text, tags = OPENING_POSTS[self.rng.randrange(3) if index is None else index % 3]
        self.posts.append(self.world.post(channel, text, tags=tags, at=self._at()))
        return True

    def _reply(self) -> bool:
        if not self.posts:
            return False
        root = self.rng.choice(self.posts[-6:])  # residents talk about recent posts
        thread = self._thread(root)
        target = root if self.rng.random() < 0.45 else self.rng.choice(thread)
        author = self._resident(avoid=target.account_id)
        city = root.account_id
        mentions = [target.account_id]
        if target.account_id != city and self.rng.random() >= self.scenario.quiet_reply_share:
            mentions.append(city)  # clients mention everyone in the conversation
        tags = root.tags if self.rng.random() < 0.2 else ()
        self.world.post(author, self.rng.choice(REPLIES), in_reply_to=target.id, mentions=tuple(mentions),
                        tags=tags, at=self._at(), filtered=self._filtered())
        return True

    def _answer(self) -> bool:
        residents = set(self.residents)
        candidates = [s for root in self.posts[-6:] for s in self._thread(root) if s.account_id in residents]
        if not candidates:
            return False
        target = self.rng.choice(candidates[-20:])
        self.world.post(self._root_author(target), "Dank voor uw reactie, we nemen het mee.",
                        in_reply_to=target.id, mentions=(target.account_id,), at=self._at())
        return True

    def _root_author(self, row: StatusRow) -> str:
        while row.in_reply_to_id:
            row = self.world.statuses[row.in_reply_to_id]
        return row.account_id

    def _mention(self) -> bool:
        city = self.rng.choice(self.channels)
        tags = ("amsterdam",) if self.rng.random() < 0.3 else ()
        self.world.post(self._resident(), "Vraagje aan de gemeente:", mentions=(city,), tags=tags,
                        at=self._at(), filtered=self._filtered())
        return True

    def _quote(self) -> bool:
        targets = self.pools.channel_statuses
        if not targets:
            return False
        target = self.rng.choice(targets)
        self.world.post(self._resident(), "Lees dit even:", quote_id=target.id, at=self._at(),
                        filtered=self._filtered())
        return True

    def _interact(self, kind: str) -> bool:
        targets = self.pools.channel_statuses
        if not targets:
            return False
        target = self.rng.choice(targets)
        if kind == "reblog" and self.rng.random() < 0.1:  # the city boosts a resident's reply
            replies = self.pools.resident_replies
            if replies:
                chosen = self.rng.choice(replies)
                return self.world.reblog(self._root_author(chosen), chosen.id, at=self._at()) is not None
        action = self.world.favourite if kind == "favourite" else self.world.reblog
        return action(self._resident(), target.id, at=self._at()) is not None

    def _favourite(self) -> bool:
        return self._interact("favourite")

    def _reblog(self) -> bool:
        return self._interact("reblog")

    def _follow(self) -> bool:
        return self.world.follow(self._resident(), self.rng.choice(self.channels), at=self._at()) is not None

    def _edit(self) -> bool:
        rows = self.pools.resident_statuses
        if not rows:
            return False
        row = self.rng.choice(rows)
        self.world.edit(row.id, row.text + " (aangepast)", at=self._at())
        return True

    def _delete(self) -> bool:
        # Only leaves: deleting a status with replies would orphan them (their thread becomes
        # unknowable), which no collector can get right and no KPI definition covers.
        rows = self.pools.resident_leaves
        if not rows:
            return False
        self.world.delete(self.rng.choice(rows).id, at=self._at())
        return True

    def _withdraw(self) -> bool:
        active = self.pools.resident_interactions
        if not active:
            return False
        row = self.rng.choice(active)
        undo = self.world.unfavourite if row.kind == "favourite" else self.world.unreblog
        return undo(row.account_id, row.status_id, at=self._at())

    def _noise(self) -> bool:
        self.world.noise(self.rng.choice(self.channels), self.rng.choice(NOISE_EVENTS))
        return True


async def play(player: Player, on_step: Callable[[int], None] | None = None) -> None:
    """Run every action, paced at `rate` (or as fast as possible, yielding so sockets flush)."""
    rate = player.scenario.rate
    start = time.monotonic()
    for i in range(player.scenario.events):
        player.step()
        if on_step:
            on_step(i + 1)
        if rate:
            delay = start + (i + 1) / rate - time.monotonic()
            await asyncio.sleep(max(0.0, delay))
        elif i % 20 == 19:
            await asyncio.sleep(0)
