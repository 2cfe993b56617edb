"""The one retry delay of the pipeline, and the one way to wait that a stop interrupts.

Every loop that retries something (a NATS connect, an unconfirmed publish, a failed fetch, an
RCON reconnect, a database probe, a child restart) takes its delays from a :class:`Backoff` and
waits them with :func:`sleep_until_stop`, so a shutdown never waits out a delay and many
replicas that failed together do not retry in lock step.

Pure apart from the random source, which is a constructor argument (tests pass a seeded one).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Exponential delays with jitter: ``initial_s`` doubled per consecutive failure, capped.

    After the n-th consecutive failure (n = 1, 2, ...) the delay is
    ``min(max_s, initial_s * 2 ** (n - 1))`` scaled by a random factor in
    ``[1 - jitter, 1 + jitter]`` (never above ``max_s``). :meth:`reset` after a success starts
    over at ``initial_s``.
    """

    initial_s: float = 0.1
    """Delay after the first failure."""
    max_s: float = 5.0
    """Longest delay."""
    jitter: float = 0.2
    """Relative spread of each delay, in ``[0, 1)``; 0 gives exact doublings."""
    rng: random.Random = field(default_factory=random.Random, repr=False)
    """Source of the jitter."""
    failures: int = 0
    """Consecutive failures counted so far."""

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s:
            msg = f"backoff needs 0 < initial_s <= max_s, got {self.initial_s} and {self.max_s}"
            raise ValueError(msg)
        if not 0 <= self.jitter < 1:
            msg = f"backoff jitter must be in [0, 1), got {self.jitter}"
            raise ValueError(msg)

    def base_delay_s(self, failures: int) -> float:
        """The delay without jitter after ``failures`` consecutive failures (at least 1)."""
        exponent = min(max(failures, 1) - 1, 60)
        return min(self.max_s, self.initial_s * 2.0**exponent)

    def peek_delay_s(self) -> float:
        """The delay (without jitter) the next failure would get, without counting one."""
        return self.base_delay_s(self.failures + 1)

    def next_delay_s(self) -> float:
        """Count one more failure and return the delay to wait before the next attempt."""
        self.failures += 1
        base = self.base_delay_s(self.failures)
        spread = self.rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return min(self.max_s, base * spread)

    def reset(self) -> None:
        """A success: the next failure waits ``initial_s`` again."""
        self.failures = 0


async def sleep_until_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop`` is set, whichever comes first.

    Returns True when ``stop`` is set (the caller should stop), False when the time passed.
    """
    if stop.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(seconds, 0.0))
    return stop.is_set()
