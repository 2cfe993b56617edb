"""Fixtures for persistence tests on a real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import pytest

from persistence.gate import DatabaseGate
from persistence.migrations import migrate
from persistence.writer import prepare_connection
from persistence.writing import BatchWriter


@pytest.fixture(name="pool")
async def _pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a freshly migrated database, with the writers' staging tables."""
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4, init=prepare_connection)
    try:
        yield pool
    finally:
        await pool.close()


def make_writer(cls: type[BatchWriter[Any]], pool: asyncpg.Pool, **kwargs: Any) -> Any:
    """A writer on ``pool`` (no NATS in these tests)."""
    return cls(pool, gate=DatabaseGate(pool), **kwargs)


async def store(writer: BatchWriter[Any], values: Sequence[Any]) -> None:
    """Write one batch the way the consumer does (one transaction, gate updated)."""
    await writer._write_once(values)
