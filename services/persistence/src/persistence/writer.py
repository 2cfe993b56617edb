"""Writes fetched events to Postgres: one transaction per batch, ack after commit.

Each batch is bulk-loaded with COPY into a per-connection staging table and inserted from there
with ``ON CONFLICT (id) DO NOTHING``, all in one transaction. The consumer acks the batch only
after that commit returns, so a crash at any point means redelivery, and redelivery changes
nothing (the ids are already there). When Postgres is unreachable the batch is negatively acked
with a delay (a :class:`~common.errors.TransientError`) and waits in the stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg
import structlog

from common.consumer import Delivery
from common.contracts import Alert, GameEvent
from common.errors import TransientError
from common.metric_names import Metric
from common.telemetry import get_meter
from persistence.rows import EVENT_COLUMNS, event_row

log = structlog.get_logger()
_rows = get_meter(__name__).create_counter(Metric.ROWS_WRITTEN, description="rows inserted")

STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS events_stage
    (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""
"""Run on every new pooled connection (temporary tables are per session)."""

_INSERT = f"""
INSERT INTO events ({", ".join(EVENT_COLUMNS)})
SELECT DISTINCT ON (id) {", ".join(EVENT_COLUMNS)} FROM events_stage
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 - the column list is a constant


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """Pool ``init`` hook: create the staging table for this session."""
    await conn.execute(STAGING_DDL)


class EventWriter:
    """Batch handler for the events stream."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def __call__(
        self, deliveries: Sequence[Delivery[GameEvent | Alert]]
    ) -> Mapping[int, BaseException] | None:
        rows = [event_row(d.value) for d in deliveries if isinstance(d.value, GameEvent)]
        if not rows:
            return None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.copy_records_to_table(
                    "events_stage", records=rows, columns=list(EVENT_COLUMNS)
                )
                status = await conn.execute(_INSERT)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError) as exc:
            raise TransientError(
                f"postgres unavailable: {type(exc).__name__}", delay_s=2.0
            ) from exc
        except asyncpg.InterfaceError as exc:
            raise TransientError(f"postgres connection lost: {exc}", delay_s=2.0) from exc
        inserted = int(status.rsplit(" ", 1)[-1])
        _rows.add(inserted, {"table": "events"})
        log.debug("events_written", batch=len(rows), inserted=inserted)
        return None
