"""Reconnect delays: exponential with jitter, and a long pause after a refused password. Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait before the next connection attempt.

    After the n-th consecutive failure (n = 1, 2, ...) the delay is
    ``min(max_s, initial_s * 2 ** (n - 1))`` scaled by a random factor in
    ``[1 - jitter, 1 + jitter]``, so many pollers that lost a server together do not retry in
    lock step. A refused password waits ``auth_failure_s`` (same jitter) instead: retrying
    quickly cannot help and some game servers ban addresses that hammer logins.
    """

    initial_s: float = 1.0
    """Delay after the first failure."""
    max_s: float = 30.0
    """Longest delay after connection failures."""
    jitter: float = 0.2
    """Relative spread of each delay (0 = none)."""
    auth_failure_s: float = 300.0
    """Delay after a refused password."""

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s or self.auth_failure_s <= 0:
            raise ValueError(f"invalid backoff policy {self}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    def delay_s(self, failures: int, *, is_auth_failure: bool, rng: random.Random) -> float:
        """Seconds to wait after ``failures`` consecutive failures (``failures >= 1``)."""
        if is_auth_failure:
            base = self.auth_failure_s
        else:
            exponent = min(max(failures, 1) - 1, 60)
            base = min(self.max_s, self.initial_s * 2.0**exponent)
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
