"""Reconnect delays of one RCON link: the common backoff, and a long pause after a refused password.

Connection failures take their delays from :class:`common.backoff.Backoff` (exponential with
jitter, so many pollers that lost a server together do not retry in lock step). A refused
password is a separate rule: it waits ``auth_failure_s`` (same jitter, never longer) however few
failures came before, because retrying quickly cannot help and some game servers ban addresses
that hammer logins. Pure apart from the random source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from common.backoff import Backoff


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long a link waits before its next connection attempt."""

    initial_s: float = 1.0
    """Delay after the first failure."""
    max_s: float = 30.0
    """Longest delay after connection failures."""
    jitter: float = 0.2
    """Relative spread of each delay (0 = none)."""
    auth_failure_s: float = 300.0
    """Delay after a refused password."""

    def __post_init__(self) -> None:
        if self.auth_failure_s <= 0:
            msg = f"backoff auth_failure_s must be positive, got {self.auth_failure_s}"
            raise ValueError(msg)
        self.schedule(random.Random())  # noqa: S311 - validates initial_s, max_s and jitter

    def schedule(self, rng: random.Random) -> ReconnectSchedule:
        """A fresh schedule for one link (no failures counted yet)."""
        return ReconnectSchedule(
            failures=Backoff(
                initial_s=self.initial_s, max_s=self.max_s, jitter=self.jitter, rng=rng
            ),
            auth_failures=Backoff(
                initial_s=self.auth_failure_s,
                max_s=self.auth_failure_s,
                jitter=self.jitter,
                rng=rng,
            ),
        )


@dataclass(slots=True)
class ReconnectSchedule:
    """The delays of one link: consecutive failures counted until a good reply resets them."""

    failures: Backoff
    """Delays after failed connections (refused, timed out, or broken before a good reply)."""
    auth_failures: Backoff
    """The constant long pause after a refused password."""

    @property
    def count(self) -> int:
        """Consecutive failures since the last good reply."""
        return self.failures.failures

    def next_delay_s(self, *, is_auth_failure: bool) -> float:
        """Count one more failure and return the delay before the next attempt."""
        delay_s = self.failures.next_delay_s()
        return self.auth_failures.next_delay_s() if is_auth_failure else delay_s

    def reset(self) -> None:
        """A good reply (or a new endpoint): the next failure starts over at ``initial_s``."""
        self.failures.reset()
        self.auth_failures.reset()
