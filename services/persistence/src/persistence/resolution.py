"""Which table and step a metric chart is read at (pure).

A chart wants at most ``max_points`` points. Raw samples are returned as they are when the
range holds few enough of them; otherwise points are steps of a "nice" width (1 min, 2 min,
5 min, ... 1 day) at least ``range / max_points`` wide, read from the per-minute roll-ups when
the step is under an hour and from the per-hour roll-ups otherwise. A 30-day chart at the
default 1,000 points is thus 720 hourly points read from 720 rows per server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from common.contracts import Resolution

NICE_STEPS_S: tuple[int, ...] = (
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)
"""Step widths a chart may use, in seconds."""

_DAY_S = 86_400
_HOUR_S = 3600
_MINUTE_S = 60


@dataclass(frozen=True, slots=True)
class ChartPlan:
    """Where and how to read a chart."""

    resolution: Resolution
    """Source table: raw, minute or hour (never auto)."""
    step_s: int
    """Width of one point (0 for raw: one point per sample)."""


class ResolutionError(ValueError):
    """The forced resolution cannot serve the range within ``max_points``."""


def _nice_step(needed_s: float, floor_s: int) -> int:
    for step in NICE_STEPS_S:
        if step >= needed_s and step >= floor_s:
            return step
    return max(floor_s, math.ceil(needed_s / _DAY_S) * _DAY_S)


def plan_chart(
    start: datetime,
    end: datetime,
    *,
    max_points: int,
    resolution: Resolution = Resolution.AUTO,
    sample_interval_s: float = 10.0,
) -> ChartPlan:
    """Pick the source table and step for a chart of ``[start, end)``.

    ``sample_interval_s`` is the expected spacing of raw samples, used to estimate how many
    raw points a range holds.

    Raises:
        ResolutionError: ``raw`` was forced for a range with more than ``max_points`` samples.
    """
    span_s = (end - start).total_seconds()
    needed_s = span_s / max_points
    if resolution is Resolution.RAW or (
        resolution is Resolution.AUTO and span_s / sample_interval_s <= max_points
    ):
        if span_s / sample_interval_s > max_points:
            msg = (
                f"raw resolution would return about {span_s / sample_interval_s:,.0f} points, "
                f"more than max_points={max_points}; use a shorter range or auto"
            )
            raise ResolutionError(msg)
        return ChartPlan(Resolution.RAW, 0)
    if resolution is Resolution.MINUTE:
        return ChartPlan(Resolution.MINUTE, _nice_step(needed_s, _MINUTE_S))
    if resolution is Resolution.HOUR:
        return ChartPlan(Resolution.HOUR, _nice_step(needed_s, _HOUR_S))
    step = _nice_step(needed_s, _MINUTE_S)
    return ChartPlan(Resolution.MINUTE if step < _HOUR_S else Resolution.HOUR, step)
