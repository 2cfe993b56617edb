from __future__ import annotations

from bot.reorder import ReorderWindow


class TestReorderWindow:
    def test_out_of_order_arrivals_leave_in_order(self):
        """Events arriving 3, 1, 2 within the window leave as 1, 2, 3."""
        window: ReorderWindow[str] = ReorderWindow(0.01)
        for offset in (3, 1, 2):
            window.add("s", (0, offset), f"e{offset}", now=0.0)

        assert window.release(now=0.005) == []
        assert window.release(now=0.011) == ["e1", "e2", "e3"]

    def test_late_event_is_released_not_dropped(self):
        """An event older than one already released leaves at once and is counted late."""
        window: ReorderWindow[str] = ReorderWindow(0.01)
        window.add("s", (0, 5), "e5", now=0.0)
        window.release(now=1.0)
        window.add("s", (0, 4), "e4", now=1.0)

        assert window.release(now=1.0) == ["e4"]
        assert window.late == 1

    def test_servers_are_independent(self):
        """One server's held events do not hold another's back."""
        window: ReorderWindow[str] = ReorderWindow(0.01)
        window.add("a", (0, 1), "a1", now=0.0)
        window.add("b", (0, 1), "b1", now=0.02)

        assert window.release(now=0.015) == ["a1"]

    def test_events_without_position_pass_at_once(self):
        """Alerts (no source position) are not held."""
        window: ReorderWindow[str] = ReorderWindow(10.0)
        window.add("s", None, "alert", now=0.0)

        assert window.next_due() == float("-inf")
        assert window.release(now=0.0) == ["alert"]


class TestContiguity:
    def test_the_next_line_skips_the_wait(self):
        """An event starting where the last released line ended leaves without waiting."""
        window: ReorderWindow[str] = ReorderWindow(10.0)
        window.add("s", None, "x", now=0.0)
        window.add("s", (0, 0), "first", now=0.0, end=20)
        window.release(now=10.0)
        window.add("s", (0, 21), "next", now=10.0, end=40)

        assert window.next_due() == float("-inf")
        assert window.release(now=10.0) == ["next"]

    def test_after_a_gap_the_window_applies(self):
        """An event after a gap (a line that made no event) still waits for earlier ones."""
        window: ReorderWindow[str] = ReorderWindow(10.0)
        window.add("s", (0, 0), "first", now=0.0, end=20)
        window.release(now=10.0)
        window.add("s", (0, 50), "after-gap", now=10.0, end=70)

        assert window.release(now=10.0) == []
        assert window.release(now=20.0) == ["after-gap"]
