"""Rows in ascending id order, cut into REST pages by bisecting from the cursor.

A page of `GET /api/v1/notifications` (or an account's statuses, or a tag timeline) used to filter
and reverse every row the world holds, then slice; over a one-hour soak that is O(10^6) per page.
Ids only grow (Serial, Snowflake), so appending keeps the rows sorted and a page is a walk from
the cursor: O(log n + page + rows skipped by the filter). The result is exactly what
`rest.paginate` gives on the filtered, newest-first list (paginable.rb semantics).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Timeline(Generic[T]):
    def __init__(self) -> None:
        self._rows: list[T] = []
        self._ids: list[int] = []

    def append(self, row_id: str, row: T) -> None:
        if self._ids and int(row_id) <= self._ids[-1]:
            raise ValueError(f"timeline ids must grow: {row_id} after {self._ids[-1]}")
        self._rows.append(row)
        self._ids.append(int(row_id))

    def newest_first(self) -> Iterator[T]:
        return reversed(self._rows)

    def page(
        self, keep: Callable[[T], bool], limit: int, *,
        max_id: int | None = None, since_id: int | None = None, min_id: int | None = None,
    ) -> list[T]:
        """Newest first: below `max_id`; with `min_id` the `limit` oldest kept rows above it,
        otherwise the `limit` newest (above `since_id` when given)."""
        rows, ids = self._rows, self._ids
        end = len(ids) if max_id is None else bisect_left(ids, max_id)  # rows[:end] are below max_id
        out: list[T] = []
        if min_id is not None:  # min_id wins over since_id
            i = bisect_right(ids, min_id)
            while i < end and len(out) < limit:
                if keep(rows[i]):
                    out.append(rows[i])
                i += 1
            return out[::-1]
        stop = -1 if since_id is None else bisect_right(ids, since_id) - 1
        i = end - 1
        while i > stop and len(out) < limit:
            if keep(rows[i]):
                out.append(rows[i])
            i -= 1
        return out
