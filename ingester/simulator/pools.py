"""The scenario player's candidate pools, kept up to date as the world changes.

Each pool holds exactly the rows the player used to collect by scanning the whole world (for
example "live statuses of residents that are not boosts"), in the same creation order, so
`rng.choice(pool)` picks the same row a scan would have: same seed, same session. The world tells
the pools about every change (`World.watch`), which makes each pick O(log n) instead of O(n).
"""

from __future__ import annotations

from ingester.simulator.ordered import LiveSequence
from ingester.simulator.records import InteractionRow, StatusRow
from ingester.simulator.world import World


class Pools:
    def __init__(self, world: World, channel_ids: list[str], resident_ids: list[str]) -> None:
        self.world = world
        self._channels, self._residents = frozenset(channel_ids), frozenset(resident_ids)
        self.channel_statuses: LiveSequence[StatusRow] = LiveSequence()  # live, not boosts
        self.resident_statuses: LiveSequence[StatusRow] = LiveSequence()  # live, not boosts
        self.resident_replies: LiveSequence[StatusRow] = LiveSequence()  # the above that reply
        self.resident_leaves: LiveSequence[StatusRow] = LiveSequence()  # the above without live replies
        self.resident_interactions: LiveSequence[InteractionRow] = LiveSequence()  # not withdrawn
        self._live_children: dict[str, int] = {}
        # A player may start on a world that already has rows (a second scenario): take them in
        # creation order, counting live replies first so leaves are known when they are added.
        existing = [s for s in world.statuses.values() if s.reblog_of_id is None]
        for s in existing:
            if s.live and s.in_reply_to_id:
                self._live_children[s.in_reply_to_id] = self._live_children.get(s.in_reply_to_id, 0) + 1
        for s in existing:
            if s.live:
                self._add(s)
        for r in world.interactions.values():
            if r.withdrawn_at is None:
                self.interaction_added(r)
        world.watch(self)

    def _add(self, row: StatusRow) -> None:
        if row.account_id in self._channels:
            self.channel_statuses.add(row.id, row)
        if row.account_id in self._residents:
            self.resident_statuses.add(row.id, row)
            if row.in_reply_to_id:
                self.resident_replies.add(row.id, row)
            self.resident_leaves.add(row.id, row, live=not self._live_children.get(row.id, 0))

    # -- World.watch callbacks ------------------------------------------------------------

    def status_added(self, row: StatusRow) -> None:
        if row.reblog_of_id is not None:
            return
        if row.in_reply_to_id:
            parent = row.in_reply_to_id
            self._live_children[parent] = self._live_children.get(parent, 0) + 1
            self.resident_leaves.discard(parent)
        self._add(row)

    def status_deleted(self, row: StatusRow) -> None:
        if row.reblog_of_id is not None:
            return
        for pool in (self.channel_statuses, self.resident_statuses, self.resident_replies, self.resident_leaves):
            pool.discard(row.id)
        parent_id = row.in_reply_to_id
        if parent_id:
            left = self._live_children[parent_id] = self._live_children.get(parent_id, 1) - 1
            parent = self.world.statuses.get(parent_id)
            if left == 0 and parent is not None and parent.live:
                self.resident_leaves.set_live(parent_id, True)  # a leaf again (ignored if not a resident's)

    def interaction_added(self, row: InteractionRow) -> None:
        if row.account_id in self._residents:
            self.resident_interactions.add(row.id, row)

    def interaction_withdrawn(self, row: InteractionRow) -> None:
        self.resident_interactions.discard(row.id)
