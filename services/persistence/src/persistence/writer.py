"""Writes the events stream (events and alerts) to Postgres: one transaction per batch.

Each batch of events is bulk-loaded with COPY, all in one transaction that also brings up to
date the player sessions of every server whose join, leave or start/stop events were new (see
:mod:`persistence.session_store`). The consumer acks the batch only after that commit returns,
so a crash at any point means redelivery, and redelivery changes nothing: the events' ids are
the primary key.

How the rows get in (docs/persistence.md, "How a batch is loaded"): first COPY straight into
``events`` inside a savepoint. When that COPY hits an id that is already stored (a redelivery,
or two copies of an event in the stream), the savepoint is rolled back and the batch takes the
staging path: COPY into a per-connection staging table, then ``INSERT ... SELECT ... ON
CONFLICT (id) DO NOTHING``, which skips exactly the stored ones. New events, by far the common
case, thus skip the staging table's second copy of every row. Alerts always take the staging
path (few). Failures are handled as :mod:`persistence.writing` describes.

Payloads reach the writer through :func:`decode_for_writer`: a plain event, or each event of an
event batch, becomes its row directly (:func:`persistence.rows.plain_rows`); anything else
is validated by its contract model first (each event of a batch on its own exact bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from common.contracts import Alert, EventBatch, GameEvent, decode_events_payload
from common.errors import InvalidMessage
from persistence.pg_time import use_remembering_time_codecs
from persistence.rows import (
    ALERT_COLUMNS,
    EVENT_COLUMNS,
    EventRow,
    alert_row,
    batch_members,
    event_row,
    event_row_from_json,
    plain_rows,
)
from persistence.session_store import Position, earliest_by_server, rederive_sessions
from persistence.sessions import LIFECYCLE_TYPES, RECONCILED_FLAG, LifecycleEvent
from persistence.writing import BatchWriter, Several, Undecodable, inserted_count

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
    RETURNING server, type, generation, source_offset
)
SELECT server,
       min(ARRAY[generation::bigint, source_offset])
           FILTER (WHERE type = ANY($1::text[]) AND generation IS NOT NULL) AS since,
       count(*) AS inserted
FROM inserted GROUP BY server ORDER BY server
"""  # noqa: S608 - the column list is a constant

_INSERT_ALERTS = f"""
INSERT INTO alerts ({", ".join(ALERT_COLUMNS)})
SELECT {", ".join(ALERT_COLUMNS)} FROM alerts_stage
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 - the column list is a constant


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """Pool ``init`` hook: the staging tables for this session, and the time codecs."""
    await conn.execute(STAGING_DDL)
    await use_remembering_time_codecs(conn)


def decode_for_writer(data: bytes, subject: str) -> EventRow | Several[EventRow] | Alert:
    """Decode an events-stream payload into what :class:`EventWriter` stores.

    An event becomes its ``events`` row, an event batch :class:`Several` rows, an alert stays an
    :class:`Alert`. Raises :class:`~common.errors.InvalidMessage` exactly when
    ``decode_events_payload`` does, except that one bad event in an otherwise sound batch
    becomes an :class:`Undecodable` member (named by its index) and the rest are stored.
    """
    plain = plain_rows(data)
    if type(plain) is tuple:
        return plain
    if type(plain) is list:
        return Several(tuple(plain))
    members = batch_members(data)
    if members is not None:
        return _batch_rows(members)
    value = decode_events_payload(data, subject=subject)
    if isinstance(value, GameEvent):
        return event_row(value)
    if isinstance(value, EventBatch):
        return Several(tuple(event_row(e) for e in value.events))
    return value


def _batch_rows(members: list[bytes]) -> Several[EventRow]:
    """The rows of a batch's events, each judged on its own exact bytes by the model."""
    rows: list[EventRow | Undecodable] = []
    batch_of: tuple[Any, Any] | None = None
    for index, member in enumerate(members):
        row = event_row_from_json(member)
        if row is None:
            try:
                row = event_row(GameEvent.from_json(member))
            except InvalidMessage as exc:
                rows.append(Undecodable(f"events[{index}]: {exc.reason}"))
                continue
        if batch_of is None:
            batch_of = (row[1], row[2])
        elif (row[1], row[2]) != batch_of:
            rows.append(
                Undecodable(
                    f"events[{index}] ({row[0]}) is {row[1]}/{row[2]} in a batch of "
                    f"{batch_of[0]}/{batch_of[1]}"
                )
            )
            continue
        rows.append(row)
    return Several(tuple(rows))


_LIFECYCLE = frozenset(LIFECYCLE_TYPES)
_COLUMNS = list(EVENT_COLUMNS)
_FLAGS = EVENT_COLUMNS.index("flags")
assert len(EVENT_COLUMNS) - 1 == _FLAGS, "rows end before flags when there are none"
_COLUMNS_BUT_FLAGS = _COLUMNS[:_FLAGS]
_SERVER, _TYPE, _TS, _OBSERVED_AT, _PLAYER, _GENERATION, _OFFSET = (
    EVENT_COLUMNS.index(c)
    for c in ("server", "type", "ts", "observed_at", "player", "generation", "source_offset")
)


def new_lifecycle(rows: Sequence[EventRow]) -> dict[str, list[LifecycleEvent]]:
    """The rows' join, leave and start/stop events, by server, as session derivation sees them.

    An event's time is its line's date, else the tailer's read time (``observed_at``). A row
    without a log position (a synthesised event without ``after``, from a poller older than
    log-ordered sessions) takes no part in sessions.
    """
    by_server: dict[str, list[LifecycleEvent]] = {}
    for row in rows:
        if row[_TYPE] in _LIFECYCLE and row[_GENERATION] is not None:
            event = LifecycleEvent(
                row[0],
                row[_TYPE],
                row[_TS] or row[_OBSERVED_AT],
                row[_PLAYER],
                len(row) > _FLAGS and RECONCILED_FLAG in row[_FLAGS],
                row[_GENERATION],
                row[_OFFSET],
            )
            by_server.setdefault(row[_SERVER], []).append(event)
    return by_server


def earliest(by_server: dict[str, list[LifecycleEvent]]) -> dict[str, Position]:
    """``{server: earliest log position}`` of lifecycle events by server."""
    return {
        server: min((e.generation, e.offset) for e in events)  # type: ignore[type-var]
        for server, events in by_server.items()
    }


class EventWriter(BatchWriter[EventRow | GameEvent | Alert]):
    """Batch handler for the events stream: events, alerts and the sessions they imply."""

    table = "events"

    def label(self, value: EventRow | GameEvent | Alert) -> str:
        """A refused event is named by its id (one event of a batch message is refused alone)."""
        return f"event {value[0]}" if isinstance(value, tuple) else f"{value.kind} {value.id}"

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
            count, since, new = await _insert_events(conn, events)
            inserted += count
            await rederive_sessions(conn, since, new)
        if alerts:
            await conn.copy_records_to_table(
                "alerts_stage", records=alerts, columns=list(ALERT_COLUMNS)
            )
            inserted += inserted_count(await conn.execute(_INSERT_ALERTS))
        return inserted


async def _insert_events(
    conn: asyncpg.Connection, events: list[EventRow]
) -> tuple[int, dict[str, Position], dict[str, list[LifecycleEvent]] | None]:
    """Insert what is new of ``events``; return how many and the lifecycle changes per server.

    The changes are the earliest new lifecycle event's log position per server and, when every
    event was new, the new lifecycle events themselves (None when some were stored already).
    """
    # Rows of events without flags (nearly all) end before the flags column, which then takes
    # its default (persistence.rows.EventRow).
    flagged = [row for row in events if len(row) > _FLAGS]
    unflagged = [row for row in events if len(row) == _FLAGS] if flagged else events
    try:
        async with conn.transaction():  # a savepoint inside the batch's transaction
            if unflagged:
                await conn.copy_records_to_table(
                    "events", records=unflagged, columns=_COLUMNS_BUT_FLAGS
                )
            if flagged:
                await conn.copy_records_to_table("events", records=flagged, columns=_COLUMNS)
    except asyncpg.UniqueViolationError:
        # Some are stored already: load through the staging table, skipping exactly those.
        whole = [row if len(row) > _FLAGS else (*row, []) for row in events]
        await conn.copy_records_to_table("events_stage", records=whole, columns=_COLUMNS)
        per_server = await conn.fetch(_INSERT_EVENTS, list(LIFECYCLE_TYPES))
        return sum(r["inserted"] for r in per_server), earliest_by_server(per_server), None
    new = new_lifecycle(events)
    return len(events), earliest(new), new
