"""Creating and dropping the daily partitions of ``metric_samples`` and ``metric_minute``."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
import structlog

from persistence.partitions import DayPartition

log = structlog.get_logger()

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('isr-partitions', 0))"

_LIST = """
SELECT c.relname FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = $1
"""


class PartitionKeeper:
    """Makes sure the partitions rows go to exist; remembers what it created or saw."""

    def __init__(self) -> None:
        self._known: set[DayPartition] = set()

    def forget(self) -> None:
        """Drop the memory (after a 'no partition' error: one was dropped meanwhile)."""
        self._known.clear()

    async def ensure(self, pool: asyncpg.Pool, partitions: Iterable[DayPartition]) -> None:
        """Create the missing ones, each in a short transaction of its own."""
        missing = sorted(set(partitions) - self._known, key=lambda p: (p.table, p.day))
        if not missing:
            return
        async with pool.acquire() as conn:
            for partition in missing:
                async with conn.transaction():
                    # Serialises replicas: CREATE ... IF NOT EXISTS still races on the catalog.
                    await conn.execute(_LOCK)
                    await conn.execute(partition.create_sql())
                self._known.add(partition)


async def list_partitions(conn: asyncpg.Connection, table: str) -> list[str]:
    """Names of the partitions attached to ``table``."""
    return [r["relname"] for r in await conn.fetch(_LIST, table)]


async def drop_partition(conn: asyncpg.Connection, partition: DayPartition) -> None:
    """Drop one partition (its rows go with it, at no per-row cost)."""
    async with conn.transaction():
        await conn.execute(_LOCK)
        await conn.execute(f"DROP TABLE IF EXISTS {partition.name}")
    log.info("partition_dropped", partition=partition.name)
