"""Sliding-window limits (pure: the caller passes the clock).

One :class:`SlidingWindowLog` serves the command cooldowns (key = user, server, class), the
chat bridge (key = server) and the mention limit (key = server, player). The limits come with
each call, so a config reload applies to the next call without losing the history.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable


class SlidingWindowLog:
    """At most ``rate`` acquisitions per key in any ``per_s`` seconds."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._log: dict[Hashable, deque[float]] = {}
        self._max_keys = max_keys

    def retry_after_s(self, key: Hashable, *, rate: int, per_s: float, now: float) -> float:
        """Seconds until ``key`` may acquire again (0.0 = now), without acquiring."""
        stamps = self._log.get(key)
        if stamps is None:
            return 0.0
        while stamps and now - stamps[0] >= per_s:
            stamps.popleft()
        if len(stamps) < rate:
            return 0.0
        return per_s - (now - stamps[len(stamps) - rate])

    def try_acquire(self, key: Hashable, *, rate: int, per_s: float, now: float) -> float:
        """Acquire for ``key`` and return 0.0, or return the seconds left without acquiring."""
        wait_s = self.retry_after_s(key, rate=rate, per_s=per_s, now=now)
        if wait_s > 0:
            return wait_s
        if key not in self._log and len(self._log) >= self._max_keys:
            self._prune(now, per_s)
        self._log.setdefault(key, deque()).append(now)
        return 0.0

    def _prune(self, now: float, per_s: float) -> None:
        # Memory stays bounded: keys whose newest stamp is outside any window are dropped.
        for key in [k for k, v in self._log.items() if not v or now - v[-1] >= per_s]:
            del self._log[key]


def whole_seconds(seconds: float) -> int:
    """Seconds left as people read them: rounded up, at least 1."""
    return max(1, math.ceil(seconds - 1e-9))
