"""Ground truth: what `kpi.engagements` must show once everything has been ingested.

Computed from the world's final state, so it is net of deletes and withdrawn favourites/boosts:
- reply: live statuses by other accounts anywhere inside a thread rooted at a channel's top-level post;
- mention: live statuses by others that mention the channel, outside its threads (and not quotes);
- quote: live statuses by others quoting a channel status, outside its threads;
- favourite / reblog / follow: the channel's notifications of that type still standing
  (their source id is the notification id, as in the contract).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ingester.simulator import render
from ingester.simulator.records import StatusRow
from ingester.simulator.world import World

KINDS = ("reply", "mention", "quote", "favourite", "reblog", "follow")


class KindTruth(BaseModel):
    model_config = ConfigDict(frozen=True)

    count: int
    source_ids: tuple[str, ...]  # sorted numerically


class PostTruth(BaseModel):
    """One of the channel's own statuses: a top-level post or one of its answers."""

    model_config = ConfigDict(frozen=True)

    post_id: str
    top_level: bool
    in_reply_to_id: str | None
    tags: tuple[str, ...]
    replies: int  # top-level posts: statuses by others anywhere in the thread (0 for answers)
    repliers: tuple[str, ...]  # account URIs (hash them with the salt to get account keys)
    city_replies: int  # the channel's own answers inside the thread (top-level posts only)
    replies_count: int  # Mastodon's `replies_count`: live direct replies by anyone
    favourites: int
    reblogs: int
    quotes: int


class ChannelTruth(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    account_id: str
    acct: str
    kinds: dict[str, KindTruth]
    posts: tuple[PostTruth, ...]
    engagement_accounts: dict[str, tuple[str, ...]]  # kind -> sorted account URIs

    def count(self, kind: str) -> int:
        return self.kinds[kind].count


class GroundTruth(BaseModel):
    model_config = ConfigDict(frozen=True)

    seed: int | None
    actions: int  # scenario actions applied
    deleted_status_ids: tuple[str, ...]
    edited_status_ids: tuple[str, ...]
    channels: dict[str, ChannelTruth]

    def count(self, channel: str, kind: str) -> int:
        return self.channels[channel].kinds[kind].count

    def totals(self, channel: str) -> dict[str, int]:
        return {k: v.count for k, v in self.channels[channel].kinds.items()}

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2), encoding="utf-8")


def _sorted_ids(ids: set[str] | list[str]) -> tuple[str, ...]:
    return tuple(sorted(ids, key=int))


def thread_root(world: World, row: StatusRow) -> StatusRow:
    while row.in_reply_to_id and (parent := world.statuses.get(row.in_reply_to_id)) is not None:
        row = parent
    return row


def compute(world: World, channels: dict[str, str], *, seed: int | None = None, actions: int = 0) -> GroundTruth:
    """`channels` maps channel name -> account id."""
    out: dict[str, ChannelTruth] = {}
    statuses = [s for s in world.statuses.values() if s.live and s.reblog_of_id is None]
    for name, cid in channels.items():
        ids: dict[str, set[str]] = {k: set() for k in KINDS}
        who: dict[str, set[str]] = {k: set() for k in KINDS}
        thread_of: dict[str, list[StatusRow]] = {}
        for s in statuses:
            root = thread_root(world, s)
            in_thread = root.account_id == cid and root.id != s.id
            if in_thread:
                thread_of.setdefault(root.id, []).append(s)
            if s.account_id == cid:
                continue
            quoted = world.statuses.get(s.quote_id) if s.quote_id else None
            if in_thread:
                kind = "reply"
            elif quoted is not None and quoted.account_id == cid:
                kind = "quote"
            elif cid in s.mention_ids:
                kind = "mention"
            else:
                continue
            ids[kind].add(s.id)
            who[kind].add(render.account_uri(world, world.account(s.account_id)))
        for n in world.notifications:
            if n.recipient_id == cid and not n.removed and n.type in ("favourite", "reblog", "follow"):
                ids[n.type].add(n.id)
                who[n.type].add(render.account_uri(world, world.account(n.from_account_id)))
        posts = []
        for s in statuses:
            if s.account_id != cid:
                continue
            members = thread_of.get(s.id, []) if s.in_reply_to_id is None else []
            others = [m for m in members if m.account_id != cid]
            replies_count, reblogs, favourites, quotes = world.counters(s.id)
            posts.append(PostTruth(
                post_id=s.id, top_level=s.in_reply_to_id is None, in_reply_to_id=s.in_reply_to_id,
                tags=s.tags, replies=len(others),
                repliers=tuple(sorted({render.account_uri(world, world.account(m.account_id)) for m in others})),
                city_replies=len(members) - len(others), replies_count=replies_count,
                favourites=favourites, reblogs=reblogs, quotes=quotes,
            ))
        acc = world.account(cid)
        out[name] = ChannelTruth(
            channel=name, account_id=cid, acct=acc.acct,
            kinds={k: KindTruth(count=len(ids[k]), source_ids=_sorted_ids(ids[k])) for k in KINDS},
            posts=tuple(posts),
            engagement_accounts={k: tuple(sorted(who[k])) for k in KINDS},
        )
    return GroundTruth(
        seed=seed, actions=actions,
        deleted_status_ids=_sorted_ids([s.id for s in world.statuses.values()
                                        if not s.live and s.reblog_of_id is None]),
        edited_status_ids=_sorted_ids([s.id for s in world.statuses.values() if s.edited_at and s.live]),
        channels=out,
    )
