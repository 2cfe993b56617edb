"""Persistence service: migrations, stream writers, the query API and retention.

Every replica runs the same: the writers of the events, metrics and audit streams share durable
consumers, the query API a queue group, and retention an advisory lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog

from common.backoff import Backoff, sleep_until_stop
from common.contracts import AuditRecord, MetricSample
from common.dead_letters import DeadLetters
from common.intake import Intake, PullOptions
from common.runtime import ServiceRuntime
from persistence import failures
from persistence.audit_writer import AuditWriter
from persistence.gate import DatabaseGate
from persistence.gc_tuning import tune_gc
from persistence.history import query_functions
from persistence.maintenance import run_maintenance
from persistence.metrics_writer import MetricsWriter
from persistence.migrations import migrate
from persistence.partition_store import PartitionKeeper
from persistence.query_api import QueryHandler, QueryServer
from persistence.settings import PersistenceSettings
from persistence.writer import EventWriter, decode_for_writer, prepare_connection
from persistence.writing import BatchWriter

log = structlog.get_logger()


def _decode_metric(data: bytes, subject: str) -> MetricSample:
    return MetricSample.from_json(data, subject=subject)


def _decode_audit(data: bytes, subject: str) -> AuditRecord:
    return AuditRecord.from_json(data, subject=subject)


async def _migrate_when_reachable(dsn: str, stop: asyncio.Event) -> bool:
    """Apply migrations, waiting (with backoff) while Postgres is unreachable."""
    backoff = Backoff(initial_s=0.5, max_s=10.0)
    while not stop.is_set():
        try:
            conn = await asyncpg.connect(dsn, timeout=5.0)
        except Exception as exc:
            if not failures.is_unavailable(exc):
                raise
            delay_s = backoff.next_delay_s()
            log.warning("database_unreachable", error=failures.describe(exc), retry_in_s=delay_s)
            await sleep_until_stop(stop, delay_s)
            continue
        try:
            await migrate(conn)
        finally:
            await conn.close()
        return True
    return False


async def run(settings: PersistenceSettings) -> None:
    """Write history and answer queries until SIGTERM/SIGINT; finish the batches in hand first."""
    if settings.database.url is None:
        msg = "ISR_DATABASE_URL is not set; the persistence service needs a database"
        raise SystemExit(msg)
    dsn = settings.database.url.get_secret_value()
    async with ServiceRuntime("persistence", settings.runtime) as rt:
        rt.health.add_check("database", _waiting_for_migrations)
        if not await _migrate_when_reachable(dsn, rt.stop):
            return
        loops = settings.fetch_concurrency + 2
        pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=max(settings.database.pool_max_size, loops + 2),
            init=prepare_connection,
            command_timeout=settings.write_timeout_s,
        )
        try:
            gate = DatabaseGate(pool, max_delay_s=settings.retry_max_s)
            rt.health.add_check("database", gate.readiness)
            topo = rt.topology
            dead_letters = DeadLetters(rt.js, topo, "persistence")
            partitions = PartitionKeeper()
            common_args: dict[str, Any] = {
                "gate": gate,
                "write_timeout_s": settings.write_timeout_s,
            }
            streams: list[tuple[str, str, Callable[[bytes, str], Any], BatchWriter[Any], int]] = [
                (
                    topo.events_stream,
                    settings.durable,
                    decode_for_writer,
                    EventWriter(pool, **common_args),
                    settings.fetch_concurrency,
                ),
                (
                    topo.metrics_stream,
                    settings.metrics_durable,
                    _decode_metric,
                    MetricsWriter(pool, partitions=partitions, **common_args),
                    1,
                ),
                (
                    topo.audit_stream,
                    settings.audit_durable,
                    _decode_audit,
                    AuditWriter(pool, **common_args),
                    1,
                ),
            ]
            query_server = QueryServer(
                rt.nc,
                topo,
                QueryHandler(
                    pool,
                    query_functions(sample_interval_s=settings.sample_interval_s),
                    timeout_s=settings.query_timeout_s,
                ),
                queue_group=settings.queue_group,
                concurrency=settings.query_concurrency,
            )
            tune_gc()
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(query_server.run(rt.stop))
                tasks.create_task(run_maintenance(pool, settings.retention, partitions, rt.stop))
                for stream, durable, decode, writer, concurrency in streams:
                    await topo.ensure_consumer(rt.js, stream, durable, policy=settings.consumer)
                    intake: Intake[Any] = Intake(
                        rt.nc,
                        dead_letters,
                        stream=stream,
                        durable=durable,
                        decode=decode,
                        consumer=settings.consumer,
                        pull=PullOptions(
                            batch_size=settings.batch_size,
                            max_bytes=settings.batch_max_bytes,
                            loops=concurrency,
                        ),
                        ready=gate.ready,
                    )
                    tasks.create_task(intake.run(writer, rt.stop))
        finally:
            await pool.close()


async def _waiting_for_migrations() -> str | None:
    return "waiting for the database to apply migrations"
