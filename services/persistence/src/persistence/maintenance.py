"""Retention and partition upkeep, run by one replica at a time.

Every ``interval_s`` (and at start) one replica, holding a session advisory lock, does:

1. create the day partitions of today and the next two days (writers create any others they
   need on the fly);
2. drop the day partitions of ``metric_samples`` and ``metric_minute`` that lie wholly before
   their retention cutoff (no per-row cost, no bloat);
3. delete expired rows of ``events``, ``alerts``, ``player_sessions``, ``metric_hour`` and
   ``audit_log`` in chunks of ``delete_chunk_rows`` (short statements, no long locks).

A table whose retention is 0 keeps everything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from common.backoff import sleep_until_stop
from persistence import failures
from persistence.partition_store import PartitionKeeper, drop_partition, list_partitions
from persistence.partitions import (
    PARTITIONED_TABLES,
    expired_partitions,
    partitions_ahead,
    retention_cutoff,
)
from persistence.settings import TableRetentionSettings

log = structlog.get_logger()

_LOCK_KEY = 0x15F_AC71  # fixed: "isr retention" lock (the migrations lock is ...70)


@dataclass(frozen=True, slots=True)
class RowRetention:
    """How one unpartitioned table ages: the expression giving a row's age."""

    table: str
    age_expression: str


ROW_RETENTION: tuple[RowRetention, ...] = (
    RowRetention("events", "observed_at"),
    RowRetention("alerts", "raised_at"),
    RowRetention("player_sessions", "coalesce(left_at, joined_at)"),
    RowRetention("metric_hour", "bucket"),
    RowRetention("audit_log", "at"),
)
"""Tables that lose old rows by chunked DELETE."""


def keep_days_by_table(settings: TableRetentionSettings) -> dict[str, float]:
    """Retention in days of every table (0 = forever)."""
    return {
        "events": settings.events_days,
        "alerts": settings.alerts_days,
        "player_sessions": settings.sessions_days,
        "metric_samples": settings.metric_samples_days,
        "metric_minute": settings.metric_minute_days,
        "metric_hour": settings.metric_hour_days,
        "audit_log": settings.audit_days,
    }


async def enforce_retention(
    pool: asyncpg.Pool,
    settings: TableRetentionSettings,
    *,
    now: datetime,
    partitions: PartitionKeeper,
) -> dict[str, int] | None:
    """One pass; return rows (or partitions, for partitioned tables) removed per table.

    Returns None when another replica holds the lock and is doing it.
    """
    keep = keep_days_by_table(settings)
    await partitions.ensure(
        pool, [p for table in PARTITIONED_TABLES for p in partitions_ahead(table, now, 2)]
    )
    removed: dict[str, int] = {}
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):
            return None
        try:
            for table in PARTITIONED_TABLES:
                names = await list_partitions(conn, table)
                expired = expired_partitions(names, table=table, now=now, keep_days=keep[table])
                for partition in expired:
                    await drop_partition(conn, partition)
                removed[table] = len(expired)
            partitions.forget()
            for rule in ROW_RETENTION:
                cutoff = retention_cutoff(now, keep[rule.table])
                if cutoff is not None:
                    removed[rule.table] = await _delete_older(
                        conn, rule, cutoff, settings.delete_chunk_rows
                    )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    log.info("retention_done", removed=removed)
    return removed


async def _delete_older(
    conn: asyncpg.Connection, rule: RowRetention, cutoff: datetime, chunk: int
) -> int:
    sql = f"""
        DELETE FROM {rule.table} WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM {rule.table} WHERE {rule.age_expression} < $1 LIMIT {chunk:d}))
    """  # noqa: S608 - table, expression and chunk come from constants and an int
    total = 0
    while True:
        status = await conn.execute(sql, cutoff)
        deleted = int(status.rsplit(" ", 1)[-1])
        total += deleted
        if deleted < chunk:
            return total


async def run_maintenance(
    pool: asyncpg.Pool,
    settings: TableRetentionSettings,
    partitions: PartitionKeeper,
    stop: asyncio.Event,
) -> None:
    """Enforce retention at start and every ``interval_s`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            await enforce_retention(pool, settings, now=datetime.now(UTC), partitions=partitions)
        except Exception as exc:
            # Postgres down: the writers report it; try again next round.
            log.warning("retention_failed", error=failures.describe(exc))
        await sleep_until_stop(stop, settings.interval_s)
