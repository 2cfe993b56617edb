from datetime import UTC, datetime, timedelta

import pytest

from common.contracts import Resolution
from persistence.resolution import ChartPlan, ResolutionError, plan_chart

END = datetime(2026, 11, 27, tzinfo=UTC)


def plan(span: timedelta, **kw) -> ChartPlan:
    """The plan for a range of ``span`` ending at END."""
    return plan_chart(END - span, END, **{"max_points": 1000, **kw})


class TestPlanChart:
    def test_short_range_is_raw(self):
        """An hour of 10-second samples (360 points) is returned raw."""
        assert plan(timedelta(hours=1)) == ChartPlan(Resolution.RAW, 0)

    def test_a_day_uses_minute_rollups_in_nice_steps(self):
        """A day at 1,000 points needs 86.4 s steps, so 2-minute steps from the minute table."""
        assert plan(timedelta(days=1)) == ChartPlan(Resolution.MINUTE, 120)

    def test_thirty_days_uses_hourly_rollups(self):
        """Thirty days at 1,000 points (43 min steps) reads hourly roll-ups: 720 points."""
        assert plan(timedelta(days=30)) == ChartPlan(Resolution.HOUR, 3600)

    def test_a_year_widens_the_step(self):
        """A year at 1,000 points uses half-day steps from the hour table."""
        assert plan(timedelta(days=365)) == ChartPlan(Resolution.HOUR, 43200)

    def test_forced_hour_never_goes_below_an_hour(self):
        """Forcing the hour table on a short range still gives hourly points."""
        assert plan(timedelta(hours=2), resolution=Resolution.HOUR) == ChartPlan(
            Resolution.HOUR, 3600
        )

    def test_forced_raw_over_a_long_range_is_refused(self):
        """Raw points beyond max_points are a bad request, not a huge reply."""
        with pytest.raises(ResolutionError, match="max_points"):
            plan(timedelta(days=30), resolution=Resolution.RAW)
