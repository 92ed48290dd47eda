"""An append-only sequence whose items can be switched off and on again, indexable by live rank.

The scenario player picks "a random live status of a resident" with `rng.choice` over a list built
in creation order. Rebuilding that list on every action is O(n); keeping the items at fixed
positions in a Fenwick tree of 0/1 flags makes `len` O(1) and "the k-th live item" O(log n), and
`rng.choice(seq)` (which only calls `len` and `seq[k]`) picks exactly the item the list would have,
so the same seed still gives the same session.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class LiveSequence(Generic[T]):
    """Items in the order they were added; only the live ones are counted and indexed."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._flags: list[int] = []  # 0/1 per position
        self._tree: list[int] = [0]  # Fenwick tree, 1-based
        self._pos: dict[Hashable, int] = {}
        self._live = 0

    def add(self, key: Hashable, item: T, *, live: bool = True) -> None:
        """Append `item` under `key` at the end; a key added twice keeps its first position."""
        if key in self._pos:
            self.set_live(key, live)
            return
        i = len(self._items) + 1  # 1-based position of the new item
        flag = int(live)
        # tree[i] covers (i - lowbit(i), i]: the new flag plus the whole nodes just below it.
        total, j, low = flag, i - 1, i - (i & -i)
        while j > low:
            total += self._tree[j]
            j -= j & -j
        self._pos[key] = i - 1
        self._items.append(item)
        self._flags.append(flag)
        self._tree.append(total)
        self._live += flag

    def set_live(self, key: Hashable, live: bool) -> None:
        """Switch an added item on or off (unknown keys are ignored: they were never eligible)."""
        p = self._pos.get(key)
        if p is None or self._flags[p] == int(live):
            return
        delta = 1 if live else -1
        self._flags[p] += delta
        self._live += delta
        i, n = p + 1, len(self._tree)
        while i < n:
            self._tree[i] += delta
            i += i & -i

    def discard(self, key: Hashable) -> None:
        self.set_live(key, False)

    def __contains__(self, key: Hashable) -> bool:
        p = self._pos.get(key)
        return p is not None and self._flags[p] == 1

    def __len__(self) -> int:
        return self._live

    def __getitem__(self, k: int) -> T:
        """The k-th live item (0-based), by binary descent over the tree."""
        if k < 0:
            k += self._live
        if not 0 <= k < self._live:
            raise IndexError("LiveSequence index out of range")
        n = len(self._tree) - 1
        pos, rest, step = 0, k + 1, 1 << n.bit_length()
        while step:
            nxt = pos + step
            if nxt <= n and self._tree[nxt] < rest:
                pos, rest = nxt, rest - self._tree[nxt]
            step >>= 1
        return self._items[pos]  # position pos + 1 (1-based) is index pos

    def live_items(self) -> list[T]:
        """All live items in order (O(n): for checks, not for the hot path)."""
        return [x for x, f in zip(self._items, self._flags) if f]
