"""The simulated server's state and the actions that change it, with Mastodon's side effects.

Every action updates counters and notifications the way a real server does and hands stream
frames to `publish` (no I/O here; the streaming hub fans them out). Routing follows real
Mastodon: a channel's `user` stream gets its notifications, its own statuses (home timeline) and
the `delete`/`status.update` of statuses that mention it; `hashtag`/`public` streams get public
statuses. Withdrawn favourites/boosts stream nothing; their notification disappears from REST.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Protocol

from ingester.simulator import render
from ingester.simulator.timeline import Timeline
from ingester.simulator.records import (
    AccountRow,
    InteractionRow,
    NotificationRow,
    Serial,
    Snowflake,
    StatusRow,
)

Route = tuple[str, ...]  # ("user", account_id) | ("hashtag", tag) | ("public",) | ...
Publish = Callable[[Route, str, str | None], None]


class Watcher(Protocol):
    """Told about every change that indexes outside the world (the player's pools) depend on."""

    def status_added(self, row: StatusRow) -> None: ...
    def status_deleted(self, row: StatusRow) -> None: ...
    def interaction_added(self, row: InteractionRow) -> None: ...
    def interaction_withdrawn(self, row: InteractionRow) -> None: ...


def now() -> datetime:
    return datetime.now(timezone.utc)


def _hour(at: datetime) -> int:
    return int(at.timestamp()) // 3600


def public_original(s: StatusRow) -> bool:
    """What a tag timeline shows: live, public, not a boost."""
    return s.live and s.reblog_of_id is None and s.visibility == "public"


class World:
    def __init__(self, base_url: str, publish: Publish | None = None) -> None:
        self.base_url = base_url
        self._publish: Publish = publish or (lambda route, event, payload: None)
        self._ids = Snowflake()  # accounts and statuses
        self._notification_ids = Serial()
        self._interaction_ids = Serial()
        self.accounts: dict[str, AccountRow] = {}
        self.statuses: dict[str, StatusRow] = {}
        self.children: dict[str, list[str]] = {}
        self.interactions: dict[str, InteractionRow] = {}
        self.notifications: list[NotificationRow] = []  # ascending id = ascending time
        self.follows: set[tuple[str, str]] = set()
        self.channel_ids: set[str] = set()
        self._replies: dict[str, int] = {}
        self._quotes: dict[str, int] = {}
        self._active: dict[tuple[str, str, str], InteractionRow] = {}  # (kind, account, status)
        self._counts: dict[tuple[str, str], int] = {}  # (kind, status) -> active favourites/boosts
        self._by_status: dict[str, list[NotificationRow]] = {}
        # Indexes so no action or REST page scans everything (a one-hour soak holds ~10^6 rows):
        # active interactions per status, in the order `_active` holds them;
        self._active_on: dict[str, dict[tuple[str, str], InteractionRow]] = {}
        # notifications per recipient, statuses per author and per tag, for REST pages.
        self._inbox: dict[str, Timeline[NotificationRow]] = {}
        self._authored: dict[str, Timeline[StatusRow]] = {}
        self._tagged: dict[str, Timeline[StatusRow]] = {}
        self._notification_by_id: dict[str, NotificationRow] = {}
        self._watchers: list[Watcher] = []

    def watch(self, watcher: Watcher) -> None:
        self._watchers.append(watcher)

    def set_publisher(self, publish: Publish) -> None:
        self._publish = publish

    # -- Lookup protocol used by render --------------------------------------------------

    def account(self, account_id: str) -> AccountRow:
        return self.accounts[account_id]

    def status(self, status_id: str) -> StatusRow | None:
        return self.statuses.get(status_id)

    def counters(self, status_id: str) -> tuple[int, int, int, int]:
        return (
            self._replies.get(status_id, 0),
            self._counts.get(("reblog", status_id), 0),
            self._counts.get(("favourite", status_id), 0),
            self._quotes.get(status_id, 0),
        )

    def is_admin(self, account_id: str) -> bool:
        return False

    # -- accounts ------------------------------------------------------------------------

    def add_account(
        self, username: str, *, domain: str | None = None, display_name: str = "", channel: bool = False
    ) -> AccountRow:
        created = datetime(2024, 1, 1, tzinfo=timezone.utc)
        row = AccountRow(
            id=self._ids.next(created), username=username, domain=domain,
            display_name=display_name, created_at=created,
        )
        self.accounts[row.id] = row
        if channel:
            self.channel_ids.add(row.id)
        return row

    # -- statuses ------------------------------------------------------------------------

    def post(
        self,
        author_id: str,
        text: str,
        *,
        in_reply_to: str | None = None,
        mentions: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        quote_id: str | None = None,
        at: datetime | None = None,
        filtered: bool = False,
    ) -> StatusRow:
        at = at or now()
        parent = self.statuses.get(in_reply_to) if in_reply_to else None
        if in_reply_to and (parent is None or not parent.live):
            raise ValueError(f"cannot reply to unknown or deleted status {in_reply_to}")
        row = StatusRow(
            id=self._ids.next(at), account_id=author_id, created_at=at, text=text,
            in_reply_to_id=in_reply_to, in_reply_to_account_id=parent.account_id if parent else None,
            mention_ids=tuple(dict.fromkeys(m for m in mentions if m != author_id)),
            tags=tuple(t.lower() for t in tags), quote_id=quote_id,
        )
        self.statuses[row.id] = row
        self._authored.setdefault(author_id, Timeline()).append(row.id, row)
        for tag in dict.fromkeys(row.tags):
            self._tagged.setdefault(tag, Timeline()).append(row.id, row)
        self.children.setdefault(row.id, [])
        if parent:
            self.children[parent.id].append(row.id)
            self._replies[parent.id] = self._replies.get(parent.id, 0) + 1
        if quote_id:
            self._quotes[quote_id] = self._quotes.get(quote_id, 0) + 1
        author = self.accounts[author_id]
        author.statuses_count += 1
        author.last_status_at = at
        self._fan_out(row, "update")
        for w in self._watchers:
            w.status_added(row)
        for mid in row.mention_ids:
            if mid in self.channel_ids:
                self._notify("mention", mid, author_id, row.id, at, filtered=filtered)
        quoted = self.statuses.get(quote_id) if quote_id else None
        if quoted and quoted.account_id in self.channel_ids and quoted.account_id != author_id:
            self._notify("quote", quoted.account_id, author_id, row.id, at, filtered=filtered)
        return row

    def edit(self, status_id: str, text: str, *, at: datetime | None = None) -> StatusRow:
        row = self._live(status_id)
        row.text, row.edited_at = text, at or now()
        self._fan_out(row, "status.update")
        for (kind, account_id) in list(self._active_on.get(row.id, {})):
            if kind == "reblog" and account_id in self.channel_ids:
                self._notify("update", account_id, row.account_id, row.id, row.edited_at)
        return row

    def delete(self, status_id: str, *, at: datetime | None = None) -> StatusRow:
        row = self._live(status_id)
        row.deleted_at = at or now()
        if row.in_reply_to_id:
            self._replies[row.in_reply_to_id] -= 1
        if row.quote_id:
            self._quotes[row.quote_id] -= 1
        for n in self._by_status.get(row.id, []):
            n.removed = True
        for kind, account_id in list(self._active_on.pop(row.id, {})):
            gone = self._active.pop((kind, account_id, row.id))
            gone.withdrawn_at = row.deleted_at
            self._counts[(kind, row.id)] -= 1
            for w in self._watchers:
                w.interaction_withdrawn(gone)
        self.accounts[row.account_id].statuses_count -= 1
        self._fan_out(row, "delete")
        for w in self._watchers:
            w.status_deleted(row)
        return row

    # -- favourites, boosts, follows -----------------------------------------------------

    def favourite(self, account_id: str, status_id: str, *, at: datetime | None = None) -> InteractionRow | None:
        return self._interact("favourite", account_id, status_id, at or now())

    def reblog(self, account_id: str, status_id: str, *, at: datetime | None = None) -> InteractionRow | None:
        return self._interact("reblog", account_id, status_id, at or now())

    def unfavourite(self, account_id: str, status_id: str, *, at: datetime | None = None) -> bool:
        return self._withdraw("favourite", account_id, status_id, at or now())

    def unreblog(self, account_id: str, status_id: str, *, at: datetime | None = None) -> bool:
        return self._withdraw("reblog", account_id, status_id, at or now())

    def follow(self, account_id: str, target_id: str, *, at: datetime | None = None) -> NotificationRow | None:
        if (account_id, target_id) in self.follows:
            return None
        self.follows.add((account_id, target_id))
        self.accounts[account_id].following_count += 1
        self.accounts[target_id].followers_count += 1
        if target_id in self.channel_ids:
            return self._notify("follow", target_id, account_id, None, at or now())
        return None

    def noise(self, channel_id: str, event: str) -> None:
        """Frames a collector must tolerate: notifications_merged, filters_changed, announcement, unknown."""
        payloads = {
            "notifications_merged": "1",
            "filters_changed": None,
            "announcement": render.dumps({
                "id": "1", "content": "<p>Onderhoud vannacht</p>", "starts_at": None, "ends_at": None,
                "all_day": True, "published_at": render.ts(now()), "updated_at": render.ts(now()),
                "mentions": [], "statuses": [], "tags": [], "emojis": [], "reactions": [], "read": False,
            }),
        }
        payload = payloads.get(event, render.dumps({"future": True}))
        self._publish(("user", channel_id), event, payload)
        if event == "notifications_merged":
            self._publish(("user:notification", channel_id), event, payload)

    # -- queries for REST ------------------------------------------------------------------

    def inbox(self, account_id: str) -> Timeline[NotificationRow]:
        """The account's notifications (removed and filtered ones included), for paging."""
        return self._inbox.get(account_id) or Timeline()

    def authored(self, account_id: str) -> Timeline[StatusRow]:
        """The account's statuses and boosts (deleted ones included), for paging."""
        return self._authored.get(account_id) or Timeline()

    def tagged(self, tag: str) -> Timeline[StatusRow]:
        """Statuses carrying the (lower-case) tag, deleted ones included, for paging."""
        return self._tagged.get(tag) or Timeline()

    def notifications_for(self, account_id: str, *, include_filtered: bool = False) -> list[NotificationRow]:
        """Visible notifications, newest first (all of them; REST pages walk `inbox` instead)."""
        return [
            n for n in self.inbox(account_id).newest_first()
            if not n.removed and (include_filtered or not n.filtered)
        ]

    def notification(self, account_id: str, notification_id: str) -> NotificationRow | None:
        """One of the account's notifications, filtered ones included, unless removed."""
        n = self._notification_by_id.get(notification_id)
        return n if n is not None and n.recipient_id == account_id and not n.removed else None

    def account_statuses(self, account_id: str) -> list[StatusRow]:
        return [s for s in self.authored(account_id).newest_first() if s.live]

    def tag_timeline(self, tag: str) -> list[StatusRow]:
        return [s for s in self.tagged(tag).newest_first() if public_original(s)]

    def ancestors(self, status_id: str) -> list[StatusRow]:
        out: list[StatusRow] = []
        row = self.statuses[status_id]
        while row.in_reply_to_id and (parent := self.statuses.get(row.in_reply_to_id)) and parent.live:
            out.append(parent)
            row = parent
        return out[::-1]

    def descendants(self, status_id: str) -> Iterator[StatusRow]:
        """Depth-first, children in creation order: the order Mastodon's context endpoint uses."""
        for cid in self.children.get(status_id, []):
            child = self.statuses[cid]
            if child.live:
                yield child
                yield from self.descendants(cid)

    def interactions_on(self, kind: str, status_id: str) -> list[InteractionRow]:
        return sorted(
            (r for k, r in self._active_on.get(status_id, {}).items() if k[0] == kind),
            key=lambda r: int(r.id), reverse=True,
        )

    def active(self, kind: str, account_id: str, status_id: str) -> bool:
        return (kind, account_id, status_id) in self._active

    # -- internals -----------------------------------------------------------------------

    def _live(self, status_id: str) -> StatusRow:
        row = self.statuses.get(status_id)
        if row is None or not row.live:
            raise ValueError(f"unknown or deleted status {status_id}")
        return row

    def _interact(self, kind: str, account_id: str, status_id: str, at: datetime) -> InteractionRow | None:
        target = self._live(status_id)
        key = (kind, account_id, status_id)
        if key in self._active:
            return None  # Mastodon answers 200 and changes nothing
        row = InteractionRow(
            id=self._interaction_ids.next(), kind=kind, account_id=account_id,
            status_id=status_id, created_at=at,
        )
        if kind == "reblog":
            boost = StatusRow(
                id=self._ids.next(at), account_id=account_id, created_at=at, text="",
                reblog_of_id=status_id,
            )
            self.statuses[boost.id] = boost
            self._authored.setdefault(account_id, Timeline()).append(boost.id, boost)
            row.reblog_status_id = boost.id
            if account_id in self.channel_ids:  # the city's own boost shows in its home timeline
                self._publish(("user", account_id), "update", render.dumps(render.status(self, boost)))
        self._active[key] = row
        self._active_on.setdefault(status_id, {})[(kind, account_id)] = row
        self._counts[(kind, status_id)] = self._counts.get((kind, status_id), 0) + 1
        self.interactions[row.id] = row
        for w in self._watchers:
            w.interaction_added(row)
        if target.account_id in self.channel_ids and target.account_id != account_id:
            self._notify(kind, target.account_id, account_id, status_id, at)
        return row

    def _withdraw(self, kind: str, account_id: str, status_id: str, at: datetime) -> bool:
        row = self._active.pop((kind, account_id, status_id), None)
        if row is None:
            return False
        row.withdrawn_at = at
        del self._active_on[status_id][(kind, account_id)]
        self._counts[(kind, status_id)] -= 1
        for w in self._watchers:
            w.interaction_withdrawn(row)
        if row.reblog_status_id:
            self.statuses[row.reblog_status_id].deleted_at = at
        for n in self._by_status.get(status_id, []):
            if n.type == kind and n.from_account_id == account_id:
                n.removed = True
        return True

    def _notify(
        self, kind: str, recipient: str, sender: str, status_id: str | None, at: datetime,
        *, filtered: bool = False,
    ) -> NotificationRow:
        nid = self._notification_ids.next()
        group_key = {
            "favourite": f"favourite-{status_id}-{_hour(at)}",
            "reblog": f"reblog-{status_id}-{_hour(at)}",
            "follow": f"follow-{_hour(at)}",
        }.get(kind, f"ungrouped-{nid}")
        row = NotificationRow(
            id=nid, type=kind, created_at=at, recipient_id=recipient, from_account_id=sender,
            status_id=status_id, group_key=group_key, filtered=filtered,
        )
        self.notifications.append(row)
        self._inbox.setdefault(recipient, Timeline()).append(nid, row)
        self._notification_by_id[nid] = row
        if status_id is not None:
            self._by_status.setdefault(status_id, []).append(row)
        if not filtered:  # filtered notifications are never streamed (notify_service.rb)
            payload = render.dumps(render.notification(self, row))
            self._publish(("user", recipient), "notification", payload)
            self._publish(("user:notification", recipient), "notification", payload)
        return row

    def _fan_out(self, row: StatusRow, event: str) -> None:
        payload = row.id if event == "delete" else render.dumps(render.status(self, row))
        author = self.accounts[row.account_id]
        if row.visibility == "public" and row.reblog_of_id is None:
            self._publish(("public",), event, payload)
            self._publish(("public:local",) if author.domain is None else ("public:remote",), event, payload)
            for tag in row.tags:
                self._publish(("hashtag", tag), event, payload)
                if author.domain is None:
                    self._publish(("hashtag:local", tag), event, payload)
        users = {m for m in row.mention_ids if m in self.channel_ids}
        if event == "update":
            users = set()  # a new status reaches a mentioned channel as a notification, not in home
        if author.id in self.channel_ids:
            users.add(author.id)
        for uid in sorted(users):
            self._publish(("user", uid), event, payload)
