from __future__ import annotations

from bot.ratelimit import SlidingWindowLog, whole_seconds


class TestSlidingWindow:
    def test_rate_per_window_then_seconds_left(self):
        """Five per 30 s (the original's query bucket): the sixth waits until the first expires."""
        log = SlidingWindowLog()
        for t in range(5):
            assert log.try_acquire("u", rate=5, per_s=30, now=float(t)) == 0

        assert log.try_acquire("u", rate=5, per_s=30, now=10.0) == 20.0
        assert log.try_acquire("u", rate=5, per_s=30, now=30.0) == 0

    def test_keys_are_independent(self):
        """Another user, server or class has its own budget."""
        log = SlidingWindowLog()
        log.try_acquire(("u", "a", "danger"), rate=1, per_s=120, now=0.0)

        assert log.try_acquire(("u", "b", "danger"), rate=1, per_s=120, now=0.0) == 0

    def test_whole_seconds_round_up(self):
        """0.2 s left is shown as 1 second, 20.0 as 20."""
        assert (whole_seconds(0.2), whole_seconds(20.0)) == (1, 20)
