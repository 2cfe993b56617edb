"""The shared retry delay and the stop-aware wait."""

from __future__ import annotations

import asyncio
import random

import pytest

from common.backoff import Backoff, sleep_until_stop


class TestBackoff:
    """Backoff."""

    def test_delays_double_up_to_the_cap_without_jitter(self):
        """Without jitter each failure doubles the delay until max_s, and reset starts over."""
        backoff = Backoff(initial_s=0.5, max_s=3.0, jitter=0.0)

        delays = [backoff.next_delay_s() for _ in range(5)]
        backoff.reset()

        assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
        assert backoff.next_delay_s() == 0.5

    def test_jitter_stays_within_its_spread_and_under_the_cap(self):
        """Jittered delays stay within [1-j, 1+j] of the base and never exceed max_s."""
        backoff = Backoff(initial_s=1.0, max_s=4.0, jitter=0.5, rng=random.Random(7))

        for failures in range(1, 50):
            delay = backoff.next_delay_s()
            base = backoff.base_delay_s(failures)
            assert base * 0.5 <= delay <= min(4.0, base * 1.5)

    def test_peek_does_not_count_a_failure(self):
        """peek_delay_s tells the next base delay and leaves the failure count alone."""
        backoff = Backoff(initial_s=1.0, max_s=8.0, jitter=0.0)
        backoff.next_delay_s()

        assert backoff.peek_delay_s() == 2.0
        assert backoff.failures == 1

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [({"initial_s": 0}, "initial_s"), ({"max_s": 0.01}, "max_s"), ({"jitter": 1.0}, "jitter")],
    )
    def test_impossible_policies_are_refused(self, kwargs, fragment):
        """A zero initial delay, a cap below it or a jitter of 1 or more is a clear error."""
        with pytest.raises(ValueError, match=fragment):
            Backoff(**kwargs)


class TestSleepUntilStop:
    """sleep_until_stop."""

    async def test_returns_false_when_the_time_passed(self):
        """Without a stop the wait ends after its time and says so."""
        assert not await sleep_until_stop(asyncio.Event(), 0.01)

    async def test_a_stop_ends_a_long_wait_at_once(self):
        """Setting stop ends a one-hour wait immediately and returns True."""
        stop = asyncio.Event()
        waiter = asyncio.create_task(sleep_until_stop(stop, 3600))
        stop.set()

        assert await asyncio.wait_for(waiter, 5)
