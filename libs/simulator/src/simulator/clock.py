"""Time sources for the simulator: the real one and a manual one for deterministic tests.

Everything the simulator stamps or schedules reads time through a `Clock`, so a test that passes
a `ManualClock` gets byte-identical console logs and tick counts on every run.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """A source of wall time (for date stamps) and monotonic time (for uptime, ticks, pacing)."""

    def now(self) -> datetime:
        """Wall-clock time; only its local date and time to the second are ever printed."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; only differences are meaningful."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (a manual clock advances instead of waiting)."""
        ...


class SystemClock:
    """The real clock: local wall time, `time.monotonic()` and `asyncio.sleep`."""

    def now(self) -> datetime:
        return datetime.now().astimezone()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when told to; `sleep` advances it and yields once to the loop.

    Wall time and monotonic time move together, so `now()` is `start` plus the seconds advanced.
    """

    def __init__(
        self,
        start: datetime = datetime(2026, 11, 27, 14, 3, 10),  # noqa: DTZ001 - printed without a zone
        monotonic: float = 0.0,
    ) -> None:
        self._start = start
        self._origin = monotonic
        self._monotonic = monotonic

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._monotonic - self._origin)

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both wall and monotonic time forward by `seconds` (negative is an error)."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds})")
        self._monotonic += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
