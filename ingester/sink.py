"""The bulk write: one batch of normalised events in ONE transaction, idempotent on Mastodon ids.

Each event type is binary-COPYed into a per-connection temporary staging table, then set-based
`INSERT … SELECT … ON CONFLICT` statements apply the batch, all in one transaction with the cursors
that cover it. The statements run in an order that makes the end state independent of the order in
which events arrive (inside a batch or across batches): tombstones before statuses (a deleted status
never comes back), account purges before statuses (a late copy brings no text back), thread roots
propagated both up-to-down and to descendants stored earlier.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Union

import asyncpg

from ingester.events import (
    AccountGoneEvent,
    CountsSnapshot,
    DeadLetter,
    DeleteEvent,
    EditEvent,
    InteractionEvent,
    Relation,
    StatusEvent,
)

from ingester.sink_sql import (
    STAGE_DDL,
    STAGE_TABLE,
    STAGE_COPY_COLUMNS,
    KIND_POSITIONS,
    PLANNER,
    APPLY_ACCOUNTS,
    APPLY_GONE,
    PURGE_GONE_TEXT,
    APPLY_TOMBSTONES,
    APPLY_REMOVALS,
    APPLY_STATUSES,
    APPLY_THREADS,
    APPLY_EDITS,
    APPLY_INTERACTIONS,
    APPLY_SNAPSHOTS,
    APPLY_DEAD_LETTERS,
    APPLY_CURSORS,
    COUNTERS,
    COUNTS,
    counted,
)

AnyEvent = Union[
    StatusEvent, InteractionEvent, EditEvent, DeleteEvent, AccountGoneEvent, CountsSnapshot, DeadLetter
]

# How strongly a status is tied to the channel; a later copy may only move a status up this list.
# Transient conflicts with another transaction, not faults: on full TimescaleDB the compression policy
# compressing a chunk deadlocks (40P01) with a batch whose late rows go into that chunk. The server
# picks one victim and rolls it back whole; the batch is written again after a short random pause.
CONFLICTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,  # 40P01
    asyncpg.exceptions.SerializationError,  # 40001
)
CONFLICT_ATTEMPTS = 6
CONFLICT_BACKOFF = 0.05  # seconds; the pause before attempt n is random in [0, 0.05 * 2**n)

# The rollups (schema/views/23_rollups.sql, 24_rollup_triggers.sql) are kept by triggers on the event
# tables. A batch changes them with several statements (deletes, statuses, thread placements,
# interactions); bracketed by these two, the triggers only note their rows and the rollups are brought
# along once, for the net change of the whole batch, in the same transaction. A database whose schema
# lacks them (a release before them, not yet migrated) is written without the bracket: each statement's
# triggers keep the rollups themselves, as they always did.
DEFER_ROLLUPS = "SELECT pulse.rollup_defer()"
FLUSH_ROLLUPS = "SELECT pulse.rollup_flush()"
CAN_DEFER_ROLLUPS = "SELECT to_regprocedure('pulse.rollup_flush()') IS NOT NULL"

RANK = {Relation.OTHER: 0, Relation.MENTION: 1, Relation.QUOTE: 2, Relation.REPLY: 3, Relation.OWN_POST: 4}
_INT32 = 2**31 - 1


@dataclass(frozen=True)
class CursorMark:
    """A REST cursor (newest id processed) that commits together with the rows put before it."""

    channel: str
    name: str
    value: str


@dataclass(frozen=True)
class WriteResult:
    """Rows actually inserted or changed by one `Sink.write` (duplicates count 0)."""

    statuses: int = 0  # inserted, upgraded (relation/mention) or replaced by a newer edit
    interactions: int = 0
    edits: int = 0  # new `pulse.edits` version rows
    deletes: int = 0  # new (or re-dated, when seen earlier) tombstones
    dead_letters: int = 0
    accounts_purged: int = 0
    snapshots: int = 0
    cursors: int = 0  # cursors that moved forward
    threads: int = 0  # thread roots set after insert (child stored before parent, or both in one batch)
    removed: int = 0  # statuses, interactions and edit rows removed by deletes

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def clean_text(value: str | None) -> str | None:
    """Make any Python str storable as PostgreSQL text.

    PostgreSQL text cannot hold NUL, and UTF-8 cannot hold lone surrogates (valid JSON such as
    `"\\ud800"` decodes to one); both are replaced with U+FFFD instead of failing the whole batch.
    """
    if value is None:
        return None
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return value


def _int32(value: int) -> int:
    # A hostile or buggy server may send absurd counters; clamp rather than jam the batch forever.
    return max(-_INT32 - 1, min(_INT32, value))


# Dispatch on the exact class first: pydantic models are ABCMeta classes, and a chain of up to seven
# isinstance() checks through ABCMeta cost about a microsecond per event; now one check remains (it
# narrows the type). Subclasses still work (`_event_class`).
_EVENT_CLASSES = (StatusEvent, InteractionEvent, EditEvent, DeleteEvent, AccountGoneEvent, CountsSnapshot,
                  DeadLetter)
_EVENT_CLASS: dict[type, type] = {cls: cls for cls in _EVENT_CLASSES}


def _event_class(ev: object) -> type | None:
    return next((cls for cls in _EVENT_CLASSES if isinstance(ev, cls)), None)


# Column positions in a staged status row (see sink_sql.STAGE_COLUMNS["status"]).
_REL, _MENTIONS, _TAGS, _CONTENT, _EDITED, _MAY_INSERT = 3, 8, 10, 11, 14, 16


class _Batch:
    """The batch turned into staging rows: merged per Mastodon id, cleaned, ready for COPY."""

    def __init__(self, events: Sequence[AnyEvent]) -> None:
        self.statuses: dict[tuple[str, str], list[Any]] = {}
        self.edits: set[tuple[Any, ...]] = set()
        self.accounts: dict[str, tuple[Any, ...]] = {}
        self.interactions: list[tuple[Any, ...]] = []
        self.deletes: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.gone: set[tuple[str]] = set()
        self.snapshots: list[tuple[Any, ...]] = []
        self.dead: list[tuple[Any, ...]] = []
        for ev in events:
            self._add(ev)

    def _add(self, ev: AnyEvent) -> None:
        c = clean_text
        kind = _EVENT_CLASS.get(type(ev)) or _event_class(ev)
        if kind is StatusEvent and isinstance(ev, StatusEvent):
            self._status(ev, is_edit=False)
        elif kind is InteractionEvent and isinstance(ev, InteractionEvent):
            self._account(ev.account)
            self.interactions.append(
                (c(ev.channel), c(ev.notification_id), ev.occurred_at, ev.kind.value,
                 c(ev.status_id), c(ev.account.key), ev.source.value)
            )
        elif kind is EditEvent and isinstance(ev, EditEvent):
            self._status(ev.status, is_edit=True)
            if ev.status.edited_at is not None:
                s = ev.status
                self.edits.add((c(s.channel), c(s.status_id), s.edited_at, s.source.value))
        elif kind is DeleteEvent and isinstance(ev, DeleteEvent):
            key = (c(ev.channel), c(ev.status_id))
            old = self.deletes.get(key)
            if old is None or ev.observed_at < old[2]:  # the earliest sighting is the deletion time
                self.deletes[key] = (*key, ev.observed_at, ev.source.value)
        elif kind is AccountGoneEvent and isinstance(ev, AccountGoneEvent):
            self.gone.add((c(ev.account_key),))
        elif kind is CountsSnapshot and isinstance(ev, CountsSnapshot):
            self.snapshots.append(
                (c(ev.channel), c(ev.post_id), ev.observed_at, _int32(ev.replies),
                 _int32(ev.favourites), _int32(ev.reblogs), _int32(ev.quotes))
            )
        elif kind is DeadLetter and isinstance(ev, DeadLetter):
            self.dead.append((c(ev.channel), ev.received_at, ev.source.value, c(ev.reason), c(ev.payload)))
        else:
            raise TypeError(f"Sink.write: not a normalised event: {type(ev).__name__}")

    def _account(self, account: Any) -> None:
        key = clean_text(account.key)
        self.accounts[key] = (key, clean_text(account.acct), clean_text(account.url))

    def _status(self, s: StatusEvent, *, is_edit: bool) -> None:
        self._account(s.account)
        c = clean_text
        # An edit alone never brings in a status we did not keep ("other" from a hashtag stream).
        may_insert = not is_edit or s.relation is not Relation.OTHER
        row = [
            c(s.channel), c(s.status_id), s.created_at, s.relation, c(s.account.key),
            c(s.in_reply_to_id), c(s.in_reply_to_account_id), c(s.quoted_id), s.mentions_channel,
            c(s.url), [c(t) for t in s.tags], c(s.content), c(s.language), c(s.visibility),
            s.edited_at, s.source.value, may_insert,
        ]
        key = (row[0], row[1])
        old = self.statuses.get(key)
        if old is None:
            self.statuses[key] = row
            return
        # Same status twice in one batch: merge exactly as ON CONFLICT would across two batches.
        if RANK[row[_REL]] > RANK[old[_REL]]:
            old[_REL] = row[_REL]
        old[_MENTIONS] = old[_MENTIONS] or row[_MENTIONS]
        old[_MAY_INSERT] = old[_MAY_INSERT] or row[_MAY_INSERT]
        if row[_EDITED] is not None and (old[_EDITED] is None or row[_EDITED] > old[_EDITED]):
            old[_TAGS], old[_CONTENT], old[_EDITED] = row[_TAGS], row[_CONTENT], row[_EDITED]

    @property
    def rows(self) -> bool:
        """Anything to stage (a batch may hold only cursor marks)."""
        return bool(self.statuses or self.edits or self.accounts or self.interactions or self.deletes
                    or self.gone or self.snapshots or self.dead)

    def status_rows(self) -> list[list[Any]]:
        return [[*r[:_REL], r[_REL].value, *r[_REL + 1:]] for r in self.statuses.values()]


def _apply_sql(b: _Batch, defer_rollups: bool = False) -> str:
    """The statements this batch needs, in the order that makes arrival order irrelevant."""
    out = [PLANNER]
    if defer_rollups:
        out.append(DEFER_ROLLUPS)
    if b.accounts:
        out.append(APPLY_ACCOUNTS)
    if b.gone:
        out.append(counted("accounts_purged", APPLY_GONE))
    if b.deletes:
        out.append(counted("deletes", APPLY_TOMBSTONES))
        for table, sql in zip(("statuses", "interactions", "edits"), APPLY_REMOVALS):
            out.append(counted(f"removed_{table}", sql))
    if b.statuses:
        out.append(counted("statuses", APPLY_STATUSES))
        out.append(counted("threads", APPLY_THREADS))
    if b.gone:
        out.append(PURGE_GONE_TEXT)
    if b.edits:
        out.append(counted("edits", APPLY_EDITS))
    if b.interactions:
        out.append(counted("interactions", APPLY_INTERACTIONS))
    if b.snapshots:
        out.append(counted("snapshots", APPLY_SNAPSHOTS))
    if b.dead:
        out.append(counted("dead_letters", APPLY_DEAD_LETTERS))
    if defer_rollups:
        out.append(FLUSH_ROLLUPS)
    return ";\n".join(out)


def _count(status: str) -> int:
    """Rows affected, from a command tag such as 'INSERT 0 12' or 'UPDATE 3'."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except (ValueError, IndexError):
        return 0


def _copy_rows(kind: str, rows: Iterable[Sequence[Any]], out: list[tuple[Any, ...]]) -> None:
    """Append `rows` of one kind to `out` as full-width staging rows (see sink_sql.STAGE_COPY_COLUMNS)."""
    positions = KIND_POSITIONS[kind]
    width = len(STAGE_COPY_COLUMNS)
    for values in rows:
        row: list[Any] = [None] * width
        row[0] = kind
        for pos, value in zip(positions, values):
            row[pos] = value
        out.append(tuple(row))


@dataclass
class Staged:
    """A batch already staged, ahead of its turn, in an open transaction on a connection of its own (see
    `Sink.stage`). `Sink.write(..., staged=)` applies and commits it; `Sink.discard` rolls it back."""

    events: Sequence[AnyEvent]
    batch: _Batch
    conn: Any  # a pooled asyncpg connection, held until write or discard
    tx: Any  # its asyncpg Transaction
    pid: int


class Sink:
    """Writes batches of events; every `write` is one transaction, safe to repeat."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # Backends (by pid) whose staging tables exist, each with whether its database can defer the
        # rollups to one flush per batch (DEFER_ROLLUPS): the DDL and that probe run once per
        # connection, not per batch. A pid is forgotten on any failure, so a reused pid only costs one
        # retried batch, and when its connection closes (the pool retires idle connections after 5
        # minutes, and every outage replaces them all), so this holds at most the pool's open
        # connections instead of every backend the service ever used.
        self._staged_on: dict[int, bool] = {}
        self.conflicts_retried = 0  # batches written again after a deadlock or serialization failure

    async def write(
        self, events: Sequence[AnyEvent], cursors: Sequence[CursorMark] = (), *, staged: Staged | None = None
    ) -> WriteResult:
        """Apply `events` and move `cursors` in one transaction. With `staged` (from `stage(events)`), the
        rows are already in that transaction's staging table: only the apply and the commit remain."""
        if staged is not None:
            return await self._finish_staged(staged, cursors)
        if not events and not cursors:
            return WriteResult()
        batch = _Batch(events)
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return await self._write_once(batch, cursors)
            except CONFLICTS:
                # The server rolled the whole transaction back, cursors included: writing the batch
                # again is exact (and every statement is idempotent on Mastodon ids anyway).
                if attempt == CONFLICT_ATTEMPTS:
                    raise  # the batcher keeps retrying with its own, longer backoff
                self.conflicts_retried += 1
                await asyncio.sleep(random.uniform(0, CONFLICT_BACKOFF * 2**attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _write_once(self, batch: _Batch, cursors: Sequence[CursorMark]) -> WriteResult:
        async with self._pool.acquire() as conn:
            pid = conn.get_server_pid()
            try:
                async with conn.transaction():
                    if batch.rows:
                        await self._stage(conn, pid, batch)
                    return await self._apply(conn, batch, cursors)
            except BaseException:
                self._staged_on.pop(pid, None)
                raise

    async def stage(self, events: Sequence[AnyEvent]) -> Staged | None:
        """Stage a batch ahead of its turn: open a transaction on a second connection and copy the rows
        into its staging table, while the batch before it is still being applied on another connection.
        Staging touches only temporary tables, so it takes no lock another writer could wait for; the
        apply (shared tables, cursors) still runs one batch at a time, in order. None: nothing to stage."""
        batch = _Batch(events)
        if not batch.rows:
            return None
        conn = await self._pool.acquire()
        pid = conn.get_server_pid()
        tx = conn.transaction()
        try:
            await tx.start()
            await self._stage(conn, pid, batch)
        except BaseException:
            self._staged_on.pop(pid, None)
            await self._release(conn, tx)
            raise
        return Staged(events, batch, conn, tx, pid)

    async def discard(self, staged: Staged) -> None:
        """Roll a staged batch back and give its connection back (its events must be written again)."""
        await self._release(staged.conn, staged.tx)

    async def _finish_staged(self, st: Staged, cursors: Sequence[CursorMark]) -> WriteResult:
        try:
            result = await self._apply(st.conn, st.batch, cursors)
            await st.tx.commit()
        except BaseException:
            self._staged_on.pop(st.pid, None)
            await self._release(st.conn, st.tx)
            raise
        await self._pool.release(st.conn)
        return result

    async def _release(self, conn: Any, tx: Any) -> None:
        try:
            if not conn.is_closed() and conn.is_in_transaction():
                await tx.rollback()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            pass  # a broken connection: the pool replaces it on release
        finally:
            await self._pool.release(conn)

    async def _stage(self, conn: asyncpg.Connection, pid: int, b: _Batch) -> None:
        if pid not in self._staged_on:
            await conn.execute(STAGE_DDL)
            self._staged_on[pid] = bool(await conn.fetchval(CAN_DEFER_ROLLUPS))
            conn.add_termination_listener(lambda _conn: self._staged_on.pop(pid, None))
        await conn.copy_records_to_table(STAGE_TABLE, records=self._stage_rows(b), columns=STAGE_COPY_COLUMNS)

    async def _apply(self, conn: asyncpg.Connection, b: _Batch, cursors: Sequence[CursorMark]) -> WriteResult:
        n: dict[str, int] = {}
        if b.rows:
            await conn.execute(_apply_sql(b, self._staged_on.get(conn.get_server_pid(), False)))
            counts = dict(zip(COUNTERS, await conn.fetchrow(COUNTS)))
            n = {c: v for c, v in counts.items() if not c.startswith("removed_")}
            n["removed"] = sum(v for c, v in counts.items() if c.startswith("removed_"))
        if cursors:
            cols = [[clean_text(getattr(m, f)) for m in cursors] for f in ("channel", "name", "value")]
            n["cursors"] = _count(await conn.execute(APPLY_CURSORS, *cols))
        return WriteResult(**n)

    @staticmethod
    def _stage_rows(b: _Batch) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        _copy_rows("status", b.status_rows(), out)
        _copy_rows("edit", b.edits, out)
        _copy_rows("account", sorted(b.accounts.values()), out)
        _copy_rows("interaction", b.interactions, out)
        _copy_rows("delete", b.deletes.values(), out)
        _copy_rows("gone", b.gone, out)
        _copy_rows("snapshot", b.snapshots, out)
        _copy_rows("dead", b.dead, out)
        return out


__all__ = ["AnyEvent", "CONFLICTS", "CursorMark", "RANK", "Sink", "Staged", "WriteResult", "clean_text"]
