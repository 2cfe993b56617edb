"""Re-deriving a server's player sessions inside the writer's transaction.

After a batch inserts join, leave or server start/stop events of a server, the sessions of that
server are re-derived from the earliest such new event (time ``since``) onward:

1. take a per-server advisory lock (held to commit), so two replicas never derive the same
   server at once; whoever takes it later sees the other's committed rows;
2. load the sessions open at ``since`` and every lifecycle event at or after ``since``;
3. :func:`persistence.sessions.derive_sessions`;
4. delete the server's sessions that opened at or after ``since`` and upsert the result.

The outcome depends only on the stored events, not on the order they arrived in, so a late or
redelivered event simply re-derives the same or a corrected history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from persistence.rows import SESSION_COLUMNS, session_row
from persistence.sessions import (
    LIFECYCLE_TYPES,
    RECONCILED_FLAG,
    EndedBy,
    LifecycleEvent,
    Session,
    derive_sessions,
)

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('isr-sessions:' || $1, 0))"

_OPEN_AT = """
SELECT id, player, joined_at, left_at, ended_by, join_reconciled, leave_event_id
FROM player_sessions
WHERE server = $1 AND joined_at < $2 AND (left_at IS NULL OR left_at >= $2)
"""

_EVENTS_SINCE = """
SELECT id, type, observed_at, player, flags, generation, source_offset
FROM events
WHERE server = $1 AND type = ANY($2::text[]) AND observed_at >= $3
"""

_DELETE_SINCE = "DELETE FROM player_sessions WHERE server = $1 AND joined_at >= $2"

_UPSERT = f"""
INSERT INTO player_sessions ({", ".join(SESSION_COLUMNS)})
VALUES ({", ".join(f"${i}" for i in range(1, len(SESSION_COLUMNS) + 1))})
ON CONFLICT (id) DO UPDATE SET
    left_at = EXCLUDED.left_at,
    ended_by = EXCLUDED.ended_by,
    leave_event_id = EXCLUDED.leave_event_id
"""  # noqa: S608 - the column list is a constant


async def rederive_sessions(conn: asyncpg.Connection, server: str, since: datetime) -> int:
    """Re-derive ``server``'s sessions from ``since`` on; return how many were written."""
    await conn.execute(_LOCK, server)
    open_rows = await conn.fetch(_OPEN_AT, server, since)
    event_rows = await conn.fetch(_EVENTS_SINCE, server, list(LIFECYCLE_TYPES), since)
    sessions = derive_sessions(
        server,
        [_lifecycle(r) for r in event_rows],
        open_at_start=[_session(server, r) for r in open_rows],
    )
    await conn.execute(_DELETE_SINCE, server, since)
    if sessions:
        await conn.executemany(_UPSERT, [session_row(s) for s in sessions])
    return len(sessions)


def _lifecycle(row: asyncpg.Record) -> LifecycleEvent:
    return LifecycleEvent(
        id=row["id"],
        type=row["type"],
        observed_at=row["observed_at"],
        player=row["player"],
        is_reconciled=RECONCILED_FLAG in (row["flags"] or ()),
        generation=row["generation"],
        offset=row["source_offset"],
    )


def _session(server: str, row: asyncpg.Record) -> Session:
    ended_by = row["ended_by"]
    return Session(
        id=row["id"],
        server=server,
        player=row["player"],
        joined_at=row["joined_at"],
        left_at=row["left_at"],
        ended_by=None if ended_by is None else EndedBy(ended_by),
        join_reconciled=row["join_reconciled"],
        leave_event_id=row["leave_event_id"],
    )


def earliest_by_server(rows: Sequence[asyncpg.Record]) -> dict[str, datetime]:
    """``{server: since}`` from rows of ``(server, since)`` where ``since`` may be NULL."""
    return {r["server"]: r["since"] for r in rows if r["since"] is not None}
