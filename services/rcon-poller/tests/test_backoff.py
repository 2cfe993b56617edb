"""Reconnect delays: the common backoff for failures, a long pause for a refused password."""

from __future__ import annotations

import random

import pytest

from rcon_poller.rcon.backoff import BackoffPolicy


class TestBackoffPolicy:
    def test_delays_double_up_to_the_maximum(self):
        """Without jitter, delays are 1, 2, 4, 8 ... capped at max_s."""
        schedule = BackoffPolicy(initial_s=1, max_s=10, jitter=0).schedule(random.Random(1))

        delays = [schedule.next_delay_s(is_auth_failure=False) for _ in range(6)]

        assert delays == [1, 2, 4, 8, 10, 10]
        assert schedule.count == 6

    def test_jitter_spreads_delays_within_bounds(self):
        """With 20 % jitter each delay stays within 0.8x..1.2x and they are not all equal."""
        schedule = BackoffPolicy(initial_s=4, max_s=100, jitter=0.2).schedule(random.Random(7))

        delays = set()
        for _ in range(50):
            delays.add(schedule.next_delay_s(is_auth_failure=False))
            schedule.reset()

        assert all(3.2 <= d <= 4.8 for d in delays)
        assert len(delays) > 40

    def test_refused_password_waits_the_long_delay(self):
        """A refused password waits auth_failure_s, however few failures came before."""
        schedule = BackoffPolicy(auth_failure_s=300, jitter=0).schedule(random.Random())

        assert schedule.next_delay_s(is_auth_failure=True) == 300
        assert schedule.count == 1

    def test_reset_starts_over(self):
        """After a reset (a good reply) the next failure waits initial_s again."""
        schedule = BackoffPolicy(initial_s=1, max_s=30, jitter=0).schedule(random.Random())
        for _ in range(4):
            schedule.next_delay_s(is_auth_failure=False)

        schedule.reset()

        assert schedule.count == 0
        assert schedule.next_delay_s(is_auth_failure=False) == 1

    def test_nonsense_policies_are_refused(self):
        """A maximum below the initial delay, jitter of 1 or more, or no auth pause is an error."""
        with pytest.raises(ValueError, match="max_s"):
            BackoffPolicy(initial_s=5, max_s=1)
        with pytest.raises(ValueError, match="jitter"):
            BackoffPolicy(jitter=1)
        with pytest.raises(ValueError, match="auth_failure_s"):
            BackoffPolicy(auth_failure_s=0)
