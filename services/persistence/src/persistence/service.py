"""Persistence service: migrations, then the events writer."""

from __future__ import annotations

import asyncpg
import structlog

from common.consumer import BatchConsumer
from common.contracts import Alert, GameEvent, decode_events_payload
from common.runtime import ServiceRuntime
from persistence.migrations import migrate
from persistence.settings import PersistenceSettings
from persistence.writer import EventWriter, prepare_connection

log = structlog.get_logger()


def _decode(data: bytes, subject: str) -> GameEvent | Alert:
    return decode_events_payload(data, subject=subject)


async def run(settings: PersistenceSettings) -> None:
    """Apply migrations, then write events until SIGTERM/SIGINT."""
    if settings.database.url is None:
        msg = "ISR_DATABASE_URL is not set; the persistence service needs a database"
        raise SystemExit(msg)
    dsn = settings.database.url.get_secret_value()
    async with ServiceRuntime("persistence", settings.runtime) as rt:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=settings.database.pool_max_size, init=prepare_connection
        )
        try:

            async def check_db() -> str | None:
                try:
                    async with pool.acquire(timeout=1.5) as c:
                        await c.fetchval("SELECT 1")
                except Exception as exc:
                    return f"unreachable ({type(exc).__name__})"
                return None

            rt.health.add_check("database", check_db)
            topo = rt.topology
            await topo.ensure_consumer(rt.js, topo.events_stream, settings.durable)
            consumer = BatchConsumer(
                rt.js,
                stream=topo.events_stream,
                durable=settings.durable,
                decode=_decode,
                handler=EventWriter(pool),
                service="persistence",
                batch_size=settings.batch_size,
            )
            await consumer.run(rt.stop)
        finally:
            await pool.close()
