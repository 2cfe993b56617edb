"""Writes the events stream (events and alerts) to Postgres: one transaction per batch.

Each batch is bulk-loaded with COPY into per-connection staging tables and inserted from there
with ``ON CONFLICT (id) DO NOTHING``, all in one transaction that also re-derives the player
sessions of every server whose join, leave or start/stop events were new (see
:mod:`persistence.session_store`). The consumer acks the batch only after that commit returns,
so a crash at any point means redelivery, and redelivery changes nothing (the ids are already
there). Failures are handled as :mod:`persistence.writing` describes.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from common.contracts import Alert, GameEvent
from persistence.rows import ALERT_COLUMNS, EVENT_COLUMNS, alert_row, event_row
from persistence.session_store import earliest_by_server, rederive_sessions
from persistence.sessions import LIFECYCLE_TYPES
from persistence.writing import BatchWriter, inserted_count

STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS events_stage
    (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS alerts_stage
    (LIKE alerts INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS samples_stage
    (LIKE metric_samples INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS audit_stage
    (LIKE audit_log INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
"""
"""Run on every new pooled connection (temporary tables are per session)."""

# Duplicates within one batch are skipped by ON CONFLICT DO NOTHING as well.
_INSERT_EVENTS = f"""
WITH inserted AS (
    INSERT INTO events ({", ".join(EVENT_COLUMNS)})
    SELECT {", ".join(EVENT_COLUMNS)} FROM events_stage
    ON CONFLICT (id) DO NOTHING
    RETURNING server, type, observed_at
)
SELECT server,
       min(observed_at) FILTER (WHERE type = ANY($1::text[])) AS since,
       count(*) AS inserted
FROM inserted GROUP BY server ORDER BY server
"""  # noqa: S608 - the column list is a constant

_INSERT_ALERTS = f"""
INSERT INTO alerts ({", ".join(ALERT_COLUMNS)})
SELECT {", ".join(ALERT_COLUMNS)} FROM alerts_stage
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 - the column list is a constant


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """Pool ``init`` hook: create the staging tables for this session."""
    await conn.execute(STAGING_DDL)


class EventWriter(BatchWriter[GameEvent | Alert]):
    """Batch handler for the events stream: events, alerts and the sessions they imply."""

    table = "events"

    async def write(self, conn: asyncpg.Connection, values: Sequence[GameEvent | Alert]) -> int:
        events = [event_row(v) for v in values if isinstance(v, GameEvent)]
        alerts = [alert_row(v) for v in values if isinstance(v, Alert)]
        inserted = 0
        if events:
            await conn.copy_records_to_table(
                "events_stage", records=events, columns=list(EVENT_COLUMNS)
            )
            per_server = await conn.fetch(_INSERT_EVENTS, list(LIFECYCLE_TYPES))
            inserted += sum(r["inserted"] for r in per_server)
            # Servers in name order: two replicas take the session locks in the same order.
            for server, since in sorted(earliest_by_server(per_server).items()):
                await rederive_sessions(conn, server, since)
        if alerts:
            await conn.copy_records_to_table(
                "alerts_stage", records=alerts, columns=list(ALERT_COLUMNS)
            )
            inserted += inserted_count(await conn.execute(_INSERT_ALERTS))
        return inserted
