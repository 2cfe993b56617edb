"""Writes the events stream (events and alerts) to Postgres: one transaction per batch.

Each batch is bulk-loaded with COPY into per-connection staging tables and inserted from there
with ``ON CONFLICT (id) DO NOTHING``, all in one transaction that also re-derives the player
sessions of every server whose join, leave or start/stop events were new (see
:mod:`persistence.session_store`). The consumer acks the batch only after that commit returns,
so a crash at any point means redelivery, and redelivery changes nothing (the ids are already
there). Failures are handled as :mod:`persistence.writing` describes.

Payloads reach the writer through :func:`decode_for_writer`: a plain event becomes its row
directly (:func:`persistence.rows.event_row_from_json`), anything else is validated by its
contract model first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from common.contracts import Alert, GameEvent, decode_events_payload
from persistence.rows import (
    ALERT_COLUMNS,
    EVENT_COLUMNS,
    EventRow,
    alert_row,
    event_row,
    event_row_from_json,
)
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


def decode_for_writer(data: bytes, subject: str) -> EventRow | Alert:
    """Decode an events-stream payload into what :class:`EventWriter` stores.

    An event becomes its ``events`` row, an alert stays an :class:`Alert`. Raises
    :class:`~common.errors.InvalidMessage` exactly when ``decode_events_payload`` does.
    """
    row = event_row_from_json(data)
    if row is not None:
        return row
    value = decode_events_payload(data, subject=subject)
    return event_row(value) if isinstance(value, GameEvent) else value


class EventWriter(BatchWriter[EventRow | GameEvent | Alert]):
    """Batch handler for the events stream: events, alerts and the sessions they imply."""

    table = "events"

    async def write(
        self, conn: asyncpg.Connection, values: Sequence[EventRow | GameEvent | Alert]
    ) -> int:
        events: list[EventRow] = []
        alerts: list[tuple[Any, ...]] = []
        for value in values:
            if isinstance(value, tuple):
                events.append(value)
            elif isinstance(value, GameEvent):
                events.append(event_row(value))
            else:
                alerts.append(alert_row(value))
        inserted = 0
        if events:
            await conn.copy_records_to_table(
                "events_stage", records=events, columns=list(EVENT_COLUMNS)
            )
            per_server = await conn.fetch(_INSERT_EVENTS, list(LIFECYCLE_TYPES))
            inserted += sum(r["inserted"] for r in per_server)
            await rederive_sessions(conn, earliest_by_server(per_server))
        if alerts:
            await conn.copy_records_to_table(
                "alerts_stage", records=alerts, columns=list(ALERT_COLUMNS)
            )
            inserted += inserted_count(await conn.execute(_INSERT_ALERTS))
        return inserted
