"""Whether Postgres is answering, and the backoff while it is not.

Writers report every failed and successful write here. While the database is down, the intake
loops stop fetching and wait here (probing with ``SELECT 1`` at growing intervals), the batch in
hand is negatively acked with the current backoff as its delay, and ``/readyz`` reports the
``database`` check as failing. The first probe that succeeds reopens the gate.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog

from common.backoff import Backoff, sleep_until_stop

log = structlog.get_logger()


class DatabaseGate:
    """Shared view of the database's health for writers, intake loops and readiness."""

    def __init__(self, pool: asyncpg.Pool, *, max_delay_s: float = 30.0) -> None:
        self._pool = pool
        self._backoff = Backoff(initial_s=min(0.25, max_delay_s), max_s=max_delay_s)
        self._down_reason: str | None = None
        self._probe_lock = asyncio.Lock()

    @property
    def down_reason(self) -> str | None:
        """Why the database counts as down, or None while it answers."""
        return self._down_reason

    @property
    def retry_delay_s(self) -> float:
        """How long a failed batch should wait before it is redelivered."""
        return max(1.0, self._backoff.peek_delay_s())

    def mark_down(self, reason: str) -> None:
        """A write failed because the database is unreachable."""
        if self._down_reason is None:
            log.warning("database_down", reason=reason)
        self._down_reason = reason

    def mark_up(self) -> None:
        """A write or probe succeeded."""
        if self._down_reason is not None:
            log.info("database_up")
        self._down_reason = None
        self._backoff.reset()

    async def probe(self) -> str | None:
        """Run ``SELECT 1``; return None when it answered, else why not."""
        try:
            async with asyncio.timeout(2.0), self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"
        return None

    async def wait_until_up(self, stop: asyncio.Event) -> None:
        """Return at once while the database answers; otherwise probe with backoff until it does.

        Also returns when ``stop`` is set.
        """
        while self._down_reason is not None and not stop.is_set():
            async with self._probe_lock:
                if self._down_reason is None:
                    return
                if await sleep_until_stop(stop, self._backoff.next_delay_s()):
                    return
                reason = await self.probe()
                if reason is None:
                    self.mark_up()
                else:
                    self._down_reason = reason

    async def ready(self, stop: asyncio.Event) -> None:
        """The intake's ``ready`` hook: fetch nothing while the database is down."""
        await self.wait_until_up(stop)

    async def readiness(self) -> str | None:
        """The ``database`` readiness check: the known outage, or a fresh probe."""
        if self._down_reason is not None:
            return self._down_reason
        return await self.probe()
