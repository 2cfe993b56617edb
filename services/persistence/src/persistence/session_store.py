"""Re-deriving players' sessions inside the writer's transaction.

After a batch inserts join, leave or server start/stop events, the sessions of each server
concerned are brought up to date, for all servers of the batch together, in a fixed number of
statements whatever their number:

1. take one advisory lock per server (held to commit), in name order, so two replicas never
   derive the same server at once and never deadlock; whoever takes a lock later sees the
   other's committed rows;
2. read each server's watermark (``session_watermarks``): the
   :meth:`~persistence.sessions.LifecycleEvent.sort_key` of the latest lifecycle event whose
   effect is stored (log position first: never a clock);
3. per server, one of two ways:

   - **continue** (the common case: events arrive in log order): every new lifecycle event of
     the server sorts after its watermark, so applying them to the sessions open now gives
     what a full re-derivation would; nothing is read back but the open sessions;
   - **re-derive** (a late or redelivered event, a batch of another parser worker that
     overtook this one, or a server without a watermark): read every lifecycle event at or
     after ``since`` (the earliest new event's log position; the partial index
     ``events_lifecycle_position``), then the stored sessions those events opened or closed and
     the open ones, and derive from there (:func:`plan_rederivation`);

4. delete the stored sessions the derivation no longer yields, upsert the derived sessions
   that differ from what is stored (unchanged rows are not rewritten), and move the
   watermarks forward.

The outcome depends only on the stored events, not on the order they arrived in, so a late or
redelivered event simply re-derives the same or a corrected history. Continuing is what
re-deriving would do, faster: a test holds the two to the same sessions for batches arriving
in and out of order (docs/persistence.md, "Sessions").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from common.vocabulary import EventFlag
from persistence.rows import SESSION_COLUMNS, session_row
from persistence.sessions import (
    LIFECYCLE_TYPES,
    EndedBy,
    LifecycleEvent,
    Session,
    SortKey,
    derive_sessions,
)

# unnest() of a sorted array yields its elements in order, so the locks are taken in name order.
_LOCK = """
SELECT pg_advisory_xact_lock(hashtextextended('isr-sessions:' || server, 0))
FROM unnest($1::text[]) WITH ORDINALITY AS u(server, n) ORDER BY n
"""

_SESSION_FIELDS = (
    "id, server, player, joined_at, left_at, ended_by, join_reconciled, leave_event_id"
)

Position = tuple[int, int]
"""A log position: (generation, byte offset)."""

_WATERMARKS = """
SELECT server, generation, source_offset, synthesised, at, event_id
FROM session_watermarks WHERE server = ANY($1::text[])
"""

_SAVE_WATERMARKS = """
INSERT INTO session_watermarks
    (server, generation, source_offset, synthesised, at, event_id)
SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::boolean[],
                     $5::timestamptz[], $6::text[])
ON CONFLICT (server) DO UPDATE SET
    generation = EXCLUDED.generation,
    source_offset = EXCLUDED.source_offset,
    synthesised = EXCLUDED.synthesised,
    at = EXCLUDED.at,
    event_id = EXCLUDED.event_id
"""

LIFECYCLE_SQL = ", ".join(f"'{t}'" for t in LIFECYCLE_TYPES)
"""The lifecycle types as an SQL list: spelt exactly as in the predicate of the partial index
``events_lifecycle_position`` (migration 0006), so that the planner can use it."""

# One index range scan of the partial index events_lifecycle_position per server: every
# lifecycle event at or after the server's position (a synthesised event's row holds the
# position it is placed after; one without a position is never read). OFFSET 0 keeps the
# planner from flattening the subquery into a join over every lifecycle event ever stored.
_EVENTS_FROM = f"""
SELECT e.server, e.id, e.type, coalesce(e.ts, e.observed_at), e.player, $4 = ANY(e.flags),
       e.generation, e.source_offset
FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS u(server, generation, source_offset)
CROSS JOIN LATERAL (
    SELECT * FROM events
    WHERE events.server = u.server AND events.type IN ({LIFECYCLE_SQL})
      AND (events.generation, events.source_offset) >= (u.generation, u.source_offset)
    OFFSET 0
) AS e
"""  # noqa: S608 - the type list is a constant

# Every session open now, of every server ($1), and the sessions the re-read events ($2, their
# ids) opened or closed: a superset of "open at since or opened since" for each re-derived
# server. Each part reads an index whose size follows recent activity, not the length of the
# history (player_sessions_open, the primary key, player_sessions_leave_event).
_SESSIONS_FROM = f"""
SELECT {_SESSION_FIELDS} FROM player_sessions
WHERE server = ANY($1::text[]) AND left_at IS NULL
UNION
SELECT {_SESSION_FIELDS} FROM player_sessions WHERE id = ANY($2::text[])
UNION
SELECT {_SESSION_FIELDS} FROM player_sessions WHERE leave_event_id = ANY($2::text[])
"""  # noqa: S608 - the column list is a constant

_DELETE = "DELETE FROM player_sessions WHERE id = ANY($1::text[])"

_SESSION_TYPES = ("text", "text", "text", "timestamptz", "timestamptz", "text", "boolean", "text")

# One statement for every session of the batch: each column is passed as an array. (COPY into
# a staging table encodes faster in Python, but truncating that ON COMMIT DELETE ROWS table at
# every commit cost Postgres more: the benchmark fell by ~8 %.)
_UPSERT = f"""
INSERT INTO player_sessions ({", ".join(SESSION_COLUMNS)})
SELECT * FROM unnest({", ".join(f"${i}::{t}[]" for i, t in enumerate(_SESSION_TYPES, 1))})
ON CONFLICT (id) DO UPDATE SET
    left_at = EXCLUDED.left_at,
    ended_by = EXCLUDED.ended_by,
    leave_event_id = EXCLUDED.leave_event_id
"""  # noqa: S608 - the column list is a constant


async def rederive_sessions(
    conn: asyncpg.Connection,
    since: Mapping[str, Position],
    new: Mapping[str, Sequence[LifecycleEvent]] | None = None,
) -> int:
    """Bring the sessions of each server of ``since`` up to date; return sessions written.

    ``since`` holds each server's earliest newly stored lifecycle event's log position.
    ``new``, when given, holds every lifecycle event this transaction stored, by server (all of
    them new): what lets a server continue from its open sessions. Without it every server is
    re-derived.
    """
    if not since:
        return 0
    servers = sorted(since)
    await conn.execute(_LOCK, servers)
    marks = {row[0]: _sort_key(row[1:]) for row in await conn.fetch(_WATERMARKS, servers)}
    continued = {
        server
        for server in servers
        if new is not None
        and server in marks
        and new.get(server)
        and min(e.sort_key() for e in new[server]) > marks[server]
    }
    rederived = [s for s in servers if s not in continued]
    events: dict[str, list[LifecycleEvent]] = defaultdict(list)
    if rederived:
        event_rows = await conn.fetch(
            _EVENTS_FROM,
            rederived,
            [since[s][0] for s in rederived],
            [since[s][1] for s in rederived],
            EventFlag.RECONCILED,
        )
        for row in event_rows:
            events[row[0]].append(_lifecycle(row))
    read_ids = [e.id for server in rederived for e in events.get(server, ())]
    session_rows = await conn.fetch(_SESSIONS_FROM, servers, read_ids)
    stored: dict[str, list[Session]] = defaultdict(list)
    for row in session_rows:
        stored[row["server"]].append(_session(row))
    to_delete: list[str] = []
    to_write: list[Session] = []
    moved: list[tuple[str, LifecycleEvent]] = []
    for server in servers:
        applied: Sequence[LifecycleEvent]
        if server in continued:
            assert new is not None  # only servers of ``new`` continue
            applied = new[server]
            written = plan_continuation(server, stored.get(server, ()), applied)
        else:
            applied = events.get(server, ())
            deleted, written = plan_rederivation(server, stored.get(server, ()), applied)
            to_delete += deleted
        to_write += written
        if applied:
            latest = max(applied, key=LifecycleEvent.sort_key)
            if server not in marks or latest.sort_key() > marks[server]:
                moved.append((server, latest))
    if to_delete:
        await conn.execute(_DELETE, to_delete)
    if to_write:
        await conn.execute(
            _UPSERT, *(list(c) for c in zip(*map(session_row, to_write), strict=True))
        )
    if moved:
        await conn.execute(_SAVE_WATERMARKS, *_watermark_columns(moved))
    return len(to_write)


def plan_continuation(
    server: str, open_now: Sequence[Session], new: Sequence[LifecycleEvent]
) -> list[Session]:
    """The sessions to write so that ``new`` events, all later than any stored, take effect.

    ``open_now`` holds at least the server's open sessions (ended ones are ignored). Nothing
    is deleted: only a re-derivation can undo a session.
    """
    current = {s.id: s for s in open_now if s.left_at is None}
    derived = derive_sessions(server, new, open_at_start=current.values())
    return [s for s in derived if current.get(s.id) != s]


def _sort_key(values: Sequence[Any]) -> SortKey:
    generation, offset, synthesised, at, event_id = values
    return (generation, offset, 1 if synthesised else 0, at, event_id)


def _watermark_columns(moved: Sequence[tuple[str, LifecycleEvent]]) -> list[list[Any]]:
    keys = [(server, *event.sort_key()) for server, event in moved]
    return [
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [k[3] == 1 for k in keys],
        [k[4] for k in keys],
        [k[5] for k in keys],
    ]


def plan_rederivation(
    server: str,
    stored: Sequence[Session],
    events: Sequence[LifecycleEvent],
) -> tuple[list[str], list[Session]]:
    """What to delete (ids) and write so that ``server``'s sessions from a log position are derived.

    ``events`` holds every stored lifecycle event at or after that position; ``stored`` at
    least the stored sessions open there (still open, or closed by one of ``events``) and those
    that ``events`` opened (others are ignored). A session is "from the position on" exactly
    when its join is one of ``events``, so no clock is compared.
    """
    ids = {e.id for e in events}
    open_at_start: list[Session] = []
    current: dict[str, Session] = {}
    for session in stored:
        if session.id in ids:
            current[session.id] = session
        elif session.left_at is None or session.leave_event_id in ids:
            open_at_start.append(session)
            current[session.id] = session
    derived = derive_sessions(server, events, open_at_start=open_at_start)
    derived_ids = {s.id for s in derived}
    deleted = [sid for sid in current if sid not in derived_ids]
    written = [s for s in derived if current.get(s.id) != s]
    return deleted, written


def _lifecycle(row: asyncpg.Record) -> LifecycleEvent:
    # Positional (the order of _EVENTS_FROM): a batch reads back thousands of these.
    _server, event_id, event_type, at, player, is_reconciled, generation, offset = row
    return LifecycleEvent(event_id, event_type, at, player, bool(is_reconciled), generation, offset)


def _session(row: asyncpg.Record) -> Session:
    ended_by = row["ended_by"]
    return Session(
        id=row["id"],
        server=row["server"],
        player=row["player"],
        joined_at=row["joined_at"],
        left_at=row["left_at"],
        ended_by=None if ended_by is None else EndedBy(ended_by),
        join_reconciled=row["join_reconciled"],
        leave_event_id=row["leave_event_id"],
    )


def earliest_by_server(rows: Sequence[asyncpg.Record]) -> dict[str, Position]:
    """``{server: since}`` from rows of ``(server, since)``; ``since`` is NULL or [gen, offset]."""
    return {r["server"]: (r["since"][0], r["since"][1]) for r in rows if r["since"] is not None}
