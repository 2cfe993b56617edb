"""Whether Postgres is answering, and the backoff while it is not.

Writers report every failed and successful write here. While the database is down, the intake
loops stop fetching and wait here (probing with ``SELECT 1`` at growing intervals), the batch in
hand is negatively acked with the current backoff as its delay, and ``/readyz`` reports the
``database`` check as failing. The first probe that succeeds reopens the gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

import asyncpg
import structlog

log = structlog.get_logger()


@dataclass(slots=True)
class Backoff:
    """Exponential delays with jitter: ``initial_s``, doubled per failure, capped at ``max_s``."""

    initial_s: float = 0.25
    max_s: float = 30.0
    jitter: float = 0.2
    """Each delay is scaled by a random factor in ``[1 - jitter, 1]``."""
    rng: random.Random = field(default_factory=random.Random)
    _failures: int = 0

    def next_delay_s(self) -> float:
        """The delay before the next attempt, and count one more failure."""
        base = min(self.max_s, self.initial_s * 2**self._failures)
        self._failures += 1
        return base * (1.0 - self.jitter * self.rng.random())

    def peek_delay_s(self) -> float:
        """The delay the next failure would get, without counting one."""
        return min(self.max_s, self.initial_s * 2**self._failures)

    def reset(self) -> None:
        """Back to the initial delay after a success."""
        self._failures = 0


class DatabaseGate:
    """Shared view of the database's health for writers, intake loops and readiness."""

    def __init__(self, pool: asyncpg.Pool, *, max_delay_s: float = 30.0) -> None:
        self._pool = pool
        self._backoff = Backoff(max_s=max_delay_s)
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
                delay_s = self._backoff.next_delay_s()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay_s)
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
