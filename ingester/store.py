"""Small reads and writes beside the sink: cursors, the channel row, what to re-verify, heartbeats.

Everything here is a single statement on the pool; bulk event writes go through `Sink` instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

HEARTBEAT_COLUMNS = (
    "channel", "at", "stream_connected", "last_frame_at", "last_event_at", "lag_seconds",
    "events_total", "reconnects_total", "catchup_runs_total", "catchup_pages_total",
    "dead_letters_total", "spool_depth", "ratelimit_remaining",
)


async def load_cursors(pool: asyncpg.Pool) -> dict[tuple[str, str], str]:
    """Every durable REST cursor, keyed on (channel, name)."""
    rows = await pool.fetch("SELECT channel, name, value FROM pulse.cursors")
    return {(r["channel"], r["name"]): r["value"] for r in rows}


async def upsert_channel(
    pool: asyncpg.Pool, channel: str, account_id: str, account_key: str, acct: str, base_url: str
) -> None:
    """Record (or refresh) the city account a channel collects for."""
    await pool.execute(
        """INSERT INTO pulse.channels (channel, account_id, account_key, acct, base_url)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (channel) DO UPDATE
              SET account_id = excluded.account_id, account_key = excluded.account_key,
                  acct = excluded.acct, base_url = excluded.base_url, updated_at = now()""",
        channel, account_id, account_key, acct, base_url,
    )


async def live_posts(pool: asyncpg.Pool, channel: str, since: datetime) -> list[tuple[str, datetime]]:
    """The channel's own top-level posts created since `since`: (post id, posted at), oldest first."""
    rows = await pool.fetch(
        """SELECT status_id, created_at FROM pulse.statuses
            WHERE channel = $1 AND created_at >= $2 AND relation = 'own_post' AND in_reply_to_id IS NULL
            ORDER BY created_at""",
        channel, since,
    )
    return [(r["status_id"], r["created_at"]) for r in rows]


async def thread_statuses(pool: asyncpg.Pool, channel: str, root_id: str) -> dict[str, datetime | None]:
    """Every stored status in the thread under `root_id` (the root itself included): id -> the
    `edited_at` of the version we hold (None: never edited). A poll re-sends only what is new or newer."""
    rows = await pool.fetch(
        "SELECT status_id, edited_at FROM pulse.statuses WHERE channel = $1 AND thread_root_id = $2",
        channel, root_id,
    )
    return {r["status_id"]: r["edited_at"] for r in rows}


async def stored_edits(pool: asyncpg.Pool, channel: str, status_ids: list[str]) -> dict[str, datetime | None]:
    """For those of `status_ids` we hold: id -> `edited_at` of the stored version (None: never edited)."""
    rows = await pool.fetch(
        "SELECT status_id, edited_at FROM pulse.statuses WHERE channel = $1 AND status_id = ANY($2::text[])",
        channel, status_ids,
    )
    return {r["status_id"]: r["edited_at"] for r in rows}


async def last_alive(pool: asyncpg.Pool, channel: str) -> datetime | None:
    """The last moment this channel's ingester is known to have run: its newest heartbeat, or (if it
    died before writing one) the newest status it stored. A restart treats everything since as a gap."""
    return await pool.fetchval(
        """SELECT greatest((SELECT max(at) FROM pulse.heartbeats WHERE channel = $1),
                           (SELECT max(created_at) FROM pulse.statuses WHERE channel = $1))""",
        channel,
    )


async def unthreaded_since(pool: asyncpg.Pool, channel: str, since: datetime) -> list[str]:
    """Other accounts' statuses outside the channel's threads (mentions, quotes) created since `since`.
    Thread polling re-reads threads; these can only be re-checked one by one."""
    rows = await pool.fetch(
        """SELECT status_id FROM pulse.statuses
            WHERE channel = $1 AND created_at >= $2 AND relation IN ('mention', 'quote', 'reply')
              AND thread_root_id IS NULL
            ORDER BY created_at""",
        channel, since,
    )
    return [r["status_id"] for r in rows]


async def write_heartbeat(pool: asyncpg.Pool, row: dict[str, Any]) -> None:
    """Insert one heartbeat row; keys are `pulse.heartbeats` columns (`channel` and `at` required)."""
    unknown = set(row) - set(HEARTBEAT_COLUMNS)
    if unknown:
        raise ValueError(f"write_heartbeat: unknown column(s) {sorted(unknown)}")
    if "channel" not in row or "at" not in row:
        raise ValueError("write_heartbeat: 'channel' and 'at' are required")
    cols = [c for c in HEARTBEAT_COLUMNS if c in row]  # fixed order: column names never come from input
    params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    await pool.execute(
        f"INSERT INTO pulse.heartbeats ({', '.join(cols)}) VALUES ({params}) ON CONFLICT (channel, at) DO NOTHING",
        *(row[c] for c in cols),
    )


__all__ = [
    "HEARTBEAT_COLUMNS",
    "last_alive",
    "unthreaded_since",
    "live_posts",
    "load_cursors",
    "stored_edits",
    "thread_statuses",
    "upsert_channel",
    "write_heartbeat",
]
