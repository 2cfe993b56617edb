"""Reconnect delays."""

from __future__ import annotations

import random

import pytest

from rcon_poller.rcon.backoff import BackoffPolicy


class TestBackoffPolicy:
    def test_delays_double_up_to_the_maximum(self):
        """Without jitter, delays are 1, 2, 4, 8 ... capped at max_s."""
        policy = BackoffPolicy(initial_s=1, max_s=10, jitter=0)
        rng = random.Random(1)

        delays = [policy.delay_s(n, is_auth_failure=False, rng=rng) for n in range(1, 7)]

        assert delays == [1, 2, 4, 8, 10, 10]

    def test_jitter_spreads_delays_within_bounds(self):
        """With 20 % jitter each delay stays within 0.8x..1.2x and they are not all equal."""
        policy = BackoffPolicy(initial_s=4, max_s=4, jitter=0.2)
        rng = random.Random(7)

        delays = {policy.delay_s(3, is_auth_failure=False, rng=rng) for _ in range(50)}

        assert all(3.2 <= d <= 4.8 for d in delays)
        assert len(delays) > 40

    def test_refused_password_waits_the_long_delay(self):
        """A refused password waits auth_failure_s, however few failures came before."""
        policy = BackoffPolicy(auth_failure_s=300, jitter=0)

        assert policy.delay_s(1, is_auth_failure=True, rng=random.Random()) == 300

    def test_nonsense_policies_are_refused(self):
        """A maximum below the initial delay, or jitter of 1 or more, is an error."""
        with pytest.raises(ValueError, match="invalid"):
            BackoffPolicy(initial_s=5, max_s=1)
        with pytest.raises(ValueError, match="jitter"):
            BackoffPolicy(jitter=1)
