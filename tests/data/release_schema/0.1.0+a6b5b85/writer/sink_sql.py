"""The SQL of the sink: the shared staging table and its COPY layout, and the
set-based apply statements (in `ingester.sink`, `_apply_sql` picks and orders them per batch)."""

from __future__ import annotations

# -- SQL -----------------------------------------------------------------------------------------
# The batch is staged in ONE per-connection temporary table (pg_temp) that empties itself at every
# commit or rollback, so a pooled connection reuses it without DDL churn. One table, not one per
# kind: PostgreSQL truncates every ON COMMIT DELETE ROWS table (with its TOAST table and index) at
# each commit that touched any temporary table, about 0.1 ms of server CPU each (measured: 8 tables
# cost ~1 ms per batch). Each kind reads its rows through a temporary view with its own column names.
STAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "status": ("channel", "status_id", "created_at", "relation", "account_key", "in_reply_to_id",
               "in_reply_to_account_id", "quoted_id", "mentions_channel", "url", "tags", "content",
               "language", "visibility", "edited_at", "source", "may_insert"),
    "edit": ("channel", "status_id", "edited_at", "source"),
    "account": ("account_key", "acct", "url"),
    "interaction": ("channel", "notification_id", "occurred_at", "kind", "status_id", "account_key", "source"),
    "delete": ("channel", "status_id", "deleted_at", "source"),
    "gone": ("account_key",),
    "snapshot": ("channel", "post_id", "observed_at", "replies", "favourites", "reblogs", "quotes"),
    "dead": ("channel", "received_at", "source", "reason", "payload"),
}
_TYPES = {"created_at": "timestamptz", "edited_at": "timestamptz", "occurred_at": "timestamptz",
          "deleted_at": "timestamptz", "observed_at": "timestamptz", "received_at": "timestamptz",
          "mentions_channel": "boolean", "may_insert": "boolean", "tags": "text[]", "replies": "integer",
          "favourites": "integer", "reblogs": "integer", "quotes": "integer"}
_SLOT_PREFIX = {"text": "t", "timestamptz": "ts", "boolean": "b", "integer": "n", "text[]": "a"}


def _slots() -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each kind's columns mapped onto typed slots of the shared table (t1, t2, ts1, b1, ...)."""
    per_kind: dict[str, list[str]] = {}
    slot_type: dict[str, str] = {}
    for kind, cols in STAGE_COLUMNS.items():
        used: dict[str, int] = {}
        per_kind[kind] = []
        for col in cols:
            typ = _TYPES.get(col, "text")
            used[typ] = used.get(typ, 0) + 1
            slot = f"{_SLOT_PREFIX[typ]}{used[typ]}"
            slot_type[slot] = typ
            per_kind[kind].append(slot)
    return per_kind, slot_type


KIND_SLOTS, SLOT_TYPES = _slots()
STAGE_DDL = "\n".join(
    ["SET LOCAL client_min_messages = warning;",
     "CREATE TEMP TABLE IF NOT EXISTS pulse_stage (stage text, "
     + ", ".join(f"{slot} {typ}" for slot, typ in SLOT_TYPES.items()) + ") ON COMMIT DELETE ROWS;"]
    + [f"CREATE OR REPLACE TEMP VIEW pulse_stage_{kind} AS SELECT "
       + ", ".join(f"{slot} AS {col}" for slot, col in zip(KIND_SLOTS[kind], cols))
       + f" FROM pulse_stage WHERE stage = '{kind}';"
       for kind, cols in STAGE_COLUMNS.items()]
)
# The batch goes in with ONE binary COPY into the shared table (asyncpg `copy_records_to_table`):
# each row carries its kind in `stage` and its values in that kind's slots, the rest NULL. Binary COPY
# encodes row by row with no per-element type probing; the former one-statement `unnest` of ~40
# parameter arrays spent about a third of the sink's client CPU on exactly that.
STAGE_TABLE = "pulse_stage"
STAGE_COPY_COLUMNS: tuple[str, ...] = ("stage", *SLOT_TYPES)
# Per kind: where each of its values goes in a full-width COPY row.
KIND_POSITIONS: dict[str, tuple[int, ...]] = {
    kind: tuple(STAGE_COPY_COLUMNS.index(slot) for slot in slots) for kind, slots in KIND_SLOTS.items()
}


# The planner sees staging tables without statistics and guesses recursive work tables badly, so
# it picks hash/merge joins that scan whole event tables: cost growing with history. A batch is
# always small next to those tables, so index nested loops are right; say so for this transaction.
PLANNER = """SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;
SET LOCAL enable_seqscan = off; SET LOCAL jit = off"""

# Handles fill in; a purged account stays purged (a late copy must not bring its handle back).
APPLY_ACCOUNTS = """
INSERT INTO pulse.accounts AS a (account_key, acct, url)
SELECT g.account_key, g.acct, g.url FROM pulse_stage_account g
  LEFT JOIN pulse.accounts o ON o.account_key = g.account_key
 -- Known, unchanged accounts are skipped here: ON CONFLICT would lock (and so write) each row.
 WHERE o.account_key IS NULL
    OR (o.purged_at IS NULL AND (o.acct IS DISTINCT FROM g.acct OR o.url IS DISTINCT FROM g.url))
 ORDER BY g.account_key
ON CONFLICT (account_key) DO UPDATE SET acct = excluded.acct, url = excluded.url
 WHERE a.purged_at IS NULL AND (a.acct IS DISTINCT FROM excluded.acct OR a.url IS DISTINCT FROM excluded.url)"""

# An account we never saw still gets a purged row, so its later copies arrive already purged.
APPLY_GONE = """
INSERT INTO pulse.accounts AS a (account_key, acct, url, purged_at)
SELECT DISTINCT account_key, NULL::text, NULL::text, now() FROM pulse_stage_gone ORDER BY 1
ON CONFLICT (account_key) DO UPDATE SET acct = NULL, url = NULL, purged_at = coalesce(a.purged_at, now())
 WHERE a.purged_at IS NULL OR a.acct IS NOT NULL OR a.url IS NOT NULL"""

# Text and link (the link names the author) go; the row stays so counts do not change.
PURGE_GONE_TEXT = """
UPDATE pulse.statuses s SET content = NULL, url = NULL, text_purged_at = coalesce(s.text_purged_at, now())
 WHERE s.account_key IN (SELECT account_key FROM pulse_stage_gone)
   AND (s.content IS NOT NULL OR s.url IS NOT NULL OR s.text_purged_at IS NULL)"""

# Mastodon drops the notifications of a deleted status too, so its favourites/boosts go with it.
APPLY_TOMBSTONES = """
INSERT INTO pulse.tombstones AS t (channel, status_id, deleted_at, source)
SELECT channel, status_id, deleted_at, source FROM pulse_stage_delete ORDER BY channel, status_id
ON CONFLICT (channel, status_id) DO UPDATE SET deleted_at = excluded.deleted_at, source = excluded.source
 WHERE excluded.deleted_at < t.deleted_at"""
APPLY_REMOVALS = tuple(
    f"DELETE FROM pulse.{table} x USING pulse_stage_delete d"
    f" WHERE x.channel = d.channel AND x.status_id = d.status_id"
    for table in ("statuses", "interactions", "edits")
)

_RANK = "array_position('{other,mention,quote,reply,own_post}'::text[], %s)"
_NEWER = "excluded.edited_at > coalesce(s.edited_at, '-infinity'::timestamptz)"
# Insert, or upgrade a stored copy: a stronger relation, a mention flag, a newer edit (never an
# older one, and never text for a purged status). The thread root is filled here when the parent is
# already stored; APPLY_THREADS handles the rest.
APPLY_STATUSES = f"""
INSERT INTO pulse.statuses AS s (channel, status_id, created_at, relation, account_key, in_reply_to_id,
       in_reply_to_account_id, quoted_id, mentions_channel, thread_root_id, url, tags, content,
       language, visibility, edited_at, text_purged_at, source)
SELECT g.channel, g.status_id, g.created_at, g.relation, g.account_key, g.in_reply_to_id,
       g.in_reply_to_account_id, g.quoted_id, g.mentions_channel,
       CASE WHEN g.relation = 'own_post' AND g.in_reply_to_id IS NULL THEN g.status_id
            ELSE (SELECT p.thread_root_id FROM pulse.statuses p
                   WHERE p.channel = g.channel AND p.status_id = g.in_reply_to_id
                     AND p.thread_root_id IS NOT NULL LIMIT 1) END,
       CASE WHEN a.purged_at IS NULL THEN g.url END, coalesce(g.tags, '{{}}'),
       CASE WHEN a.purged_at IS NULL THEN g.content END, g.language, g.visibility, g.edited_at,
       CASE WHEN a.purged_at IS NOT NULL THEN now() END, g.source
  FROM pulse_stage_status g
  LEFT JOIN pulse.accounts a ON a.account_key = g.account_key
  -- LATERAL … LIMIT 1, not OR EXISTS: an OR'ed EXISTS may become a hashed scan of every status.
  LEFT JOIN LATERAL (SELECT true AS stored FROM pulse.statuses x
                      WHERE NOT g.may_insert AND x.channel = g.channel AND x.status_id = g.status_id
                      LIMIT 1) x ON true
 WHERE NOT EXISTS (SELECT 1 FROM pulse.tombstones t WHERE t.channel = g.channel AND t.status_id = g.status_id)
   AND (g.may_insert OR x.stored)
 ORDER BY g.channel, g.status_id
ON CONFLICT (channel, status_id, created_at) DO UPDATE SET
  relation = CASE WHEN {_RANK % 'excluded.relation'} > {_RANK % 's.relation'}
                  THEN excluded.relation ELSE s.relation END,
  mentions_channel = s.mentions_channel OR excluded.mentions_channel,
  content = CASE WHEN {_NEWER} AND s.text_purged_at IS NULL THEN excluded.content ELSE s.content END,
  tags = CASE WHEN {_NEWER} THEN excluded.tags ELSE s.tags END,
  edited_at = CASE WHEN {_NEWER} THEN excluded.edited_at ELSE s.edited_at END
 WHERE {_RANK % 'excluded.relation'} > {_RANK % 's.relation'}
    OR (excluded.mentions_channel AND NOT s.mentions_channel)
    OR {_NEWER}"""

# Thread roots, whatever the arrival order: every staged status whose root is known (an own
# top-level post is its own root; others inherit the parent's) hands it down to its descendants,
# including ones stored earlier (child before parent) and ones in this very batch. Recursion stops
# at a status that already has the root: its subtree was resolved when it got it.
APPLY_THREADS = """
WITH RECURSIVE anchor AS (
  SELECT s.channel, s.status_id,
         CASE WHEN s.relation = 'own_post' AND s.in_reply_to_id IS NULL THEN s.status_id
              ELSE coalesce(s.thread_root_id,
                            (SELECT p.thread_root_id FROM pulse.statuses p
                              WHERE p.channel = s.channel AND p.status_id = s.in_reply_to_id
                                AND p.thread_root_id IS NOT NULL LIMIT 1)) END AS root
    FROM (SELECT DISTINCT channel, status_id FROM pulse_stage_status) g
    JOIN pulse.statuses s ON s.channel = g.channel AND s.status_id = g.status_id
), tree (channel, status_id, root) AS (
  SELECT channel, status_id, root FROM anchor WHERE root IS NOT NULL
  UNION
  SELECT c.channel, c.status_id, t.root
    FROM tree t JOIN pulse.statuses c ON c.channel = t.channel AND c.in_reply_to_id = t.status_id
   WHERE c.thread_root_id IS DISTINCT FROM t.root
)
UPDATE pulse.statuses s SET thread_root_id = t.root
  FROM (SELECT DISTINCT ON (channel, status_id) channel, status_id, root
          FROM tree ORDER BY channel, status_id, root) t
 WHERE s.channel = t.channel AND s.status_id = t.status_id AND s.thread_root_id IS DISTINCT FROM t.root"""

APPLY_EDITS = """
INSERT INTO pulse.edits (channel, status_id, edited_at, source)
SELECT e.channel, e.status_id, e.edited_at, e.source FROM pulse_stage_edit e
 WHERE EXISTS (SELECT 1 FROM pulse.statuses s WHERE s.channel = e.channel AND s.status_id = e.status_id)
ON CONFLICT DO NOTHING"""

# A favourite of a deleted status arriving late (REST page read before the delete) stays out.
APPLY_INTERACTIONS = """
INSERT INTO pulse.interactions (channel, notification_id, occurred_at, kind, status_id, account_key, source)
SELECT g.channel, g.notification_id, g.occurred_at, g.kind, g.status_id, g.account_key, g.source
  FROM pulse_stage_interaction g
 WHERE NOT EXISTS (SELECT 1 FROM pulse.tombstones t WHERE t.channel = g.channel AND t.status_id = g.status_id)
ON CONFLICT DO NOTHING"""

APPLY_SNAPSHOTS = """
INSERT INTO pulse.post_snapshots (channel, post_id, observed_at, replies, favourites, reblogs, quotes)
SELECT channel, post_id, observed_at, replies, favourites, reblogs, quotes FROM pulse_stage_snapshot
ON CONFLICT DO NOTHING"""

APPLY_DEAD_LETTERS = """
INSERT INTO pulse.dead_letters (channel, received_at, source, reason, payload)
SELECT channel, received_at, source, reason, payload FROM pulse_stage_dead
ON CONFLICT DO NOTHING"""

# A cursor only moves forward: ids compare as numbers (text order would put "9" after "10").
APPLY_CURSORS = """
INSERT INTO pulse.cursors AS c (channel, name, value)
SELECT DISTINCT ON (channel, name) channel, name, value
  FROM unnest($1::text[], $2::text[], $3::text[]) AS m(channel, name, value)
 ORDER BY channel, name, pulse.id_num(value) DESC NULLS LAST, value DESC
ON CONFLICT (channel, name) DO UPDATE SET value = excluded.value, updated_at = now()
 WHERE coalesce(pulse.id_num(excluded.value) > pulse.id_num(c.value), excluded.value > c.value)"""


# The apply statements take no parameters and run through `execute` (simple query protocol), so
# they are planned afresh for every batch. On purpose: a prepared statement keeps the plan made
# against the first, empty tables (measured: a parent lookup via the wrong index, 100x slower).
# They go to the server as ONE multi-statement string (one round trip instead of one each); each
# counted statement leaves its row count in a transaction-local setting, read back by COUNTS.
COUNTERS = ("accounts_purged", "deletes", "removed_statuses", "removed_interactions", "removed_edits",
            "statuses", "threads", "edits", "interactions", "snapshots", "dead_letters")
COUNTS = "SELECT " + ", ".join(
    f"coalesce(nullif(current_setting('pulse.n_{c}', true), ''), '0')::bigint" for c in COUNTERS
)


def counted(counter: str, sql: str) -> str:
    return (f"WITH r AS ({sql.strip()}\n RETURNING 1)\n"
            f"SELECT set_config('pulse.n_{counter}', count(*)::text, true) FROM r")
