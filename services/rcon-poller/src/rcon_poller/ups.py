"""UPS (game updates per second) from readings of game progress over a sliding window. Pure.

Two kinds of reading feed the same estimator:

- **``/time``** (default, achievement-safe): game time in whole seconds, i.e. ``floor(tick /
  60)``; its resolution is 60 ticks.
- **``game.tick``** (``lua_metrics: true``): the exact tick; resolution 1 tick.

Each reading carries the wall time it was taken at (the midpoint between sending the command
and receiving the reply, on the monotonic clock) and half the round trip as the uncertainty of
that time. UPS is ``(ticks_newest - ticks_oldest) / (wall_newest - wall_oldest)`` over the
readings of the last ``window_s`` seconds. Its error is bounded by

    (resolution_ticks + ups * (uncertainty_oldest + uncertainty_newest)) / span_s

The first term is the reading's rounding (at most one resolution step over the window); the
second is when, inside each round trip, the game actually answered. With ``/time`` and a 60 s
window that is about +/-1 UPS; an estimate is published only once the bound is at most
``max_error_ups`` (30 s of readings for ``/time`` with the default 2 UPS; one interval for Lua).

**Pause.** A window with no progress at all is a pause, not 0 UPS. With ``game.tick`` any
interval without progress is a pause (or ``game.tick_paused`` says so). With ``/time`` a
server slower than one game second per interval also shows no progress, so a pause is declared
once the game clock has stood still for ``resolution / min_ups`` seconds (12 s for /time with
the default ``min_ups`` of 5), or at once when nobody is online (Factorio's ``auto_pause``).
Until then the estimate is withheld (UPS None, not paused). After a pause the window starts
again at the first reading that moved, so the paused time never drags the estimate down.

A reading lower than the previous one (the server restarted or loaded an older save) also
starts the window again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

TICKS_PER_SECOND = 60
"""Factorio's nominal update rate at game speed 1."""
TIME_RESOLUTION_TICKS = 60.0
"""Resolution of a ``/time`` reading (one game second)."""
TICK_RESOLUTION_TICKS = 1.0
"""Resolution of a ``game.tick`` reading."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One observation of game progress."""

    wall_s: float
    """Monotonic wall time of the reading (midpoint of the round trip)."""
    ticks: float
    """Game progress in ticks (``/time`` seconds x 60, or ``game.tick``)."""
    resolution_ticks: float
    """How coarse ``ticks`` is (60 for ``/time``, 1 for ``game.tick``)."""
    uncertainty_s: float = 0.0
    """Half the round trip: how far the game's moment of answering may be from ``wall_s``."""
    is_paused_flag: bool = False
    """The game itself says it is paused (``game.tick_paused``)."""
    players_online: int | None = None
    """Connected players, when known (0 with ``auto_pause`` means paused)."""


@dataclass(frozen=True, slots=True)
class UpsEstimate:
    """What the estimator concludes after a reading."""

    ups: float | None
    """Updates per second, or None (paused, too little data, or withheld)."""
    is_paused: bool
    """The game is not progressing."""
    error_ups: float | None = None
    """Bound on the estimate's error, +/- UPS."""
    window_s: float | None = None
    """Wall-clock span the estimate covers."""


class UpsEstimator:
    """Turns successive readings of one server into UPS estimates."""

    def __init__(
        self, *, window_s: float = 60.0, max_error_ups: float = 2.0, min_ups: float = 5.0
    ) -> None:
        if window_s <= 0 or max_error_ups <= 0 or min_ups <= 0:
            raise ValueError("window_s, max_error_ups and min_ups must be positive")
        self.window_s = window_s
        self.max_error_ups = max_error_ups
        self.min_ups = min_ups
        self._readings: deque[Reading] = deque()
        self._still_since: Reading | None = None
        self._is_paused = False

    @property
    def is_paused(self) -> bool:
        """The last conclusion was a pause."""
        return self._is_paused

    def reset(self) -> None:
        """Forget every reading (after a reconnect to a possibly different game)."""
        self._readings.clear()
        self._still_since = None
        self._is_paused = False

    def add(self, reading: Reading) -> UpsEstimate:
        """Take one reading and return the current estimate."""
        readings = self._readings
        previous = readings[-1] if readings else None
        if previous is None or reading.ticks < previous.ticks or reading.wall_s <= previous.wall_s:
            self.reset()
            readings.append(reading)
            return UpsEstimate(None, is_paused=reading.is_paused_flag)
        if reading.ticks == previous.ticks:
            return self._still(reading)
        if self._is_paused:
            # First movement after a pause: the window restarts here, not at the last still
            # reading, so time spent paused never counts as slow updates.
            self.reset()
            readings.append(reading)
            return UpsEstimate(None, is_paused=False)
        self._still_since = None
        readings.append(reading)
        while len(readings) > 2 and reading.wall_s - readings[0].wall_s > self.window_s:
            readings.popleft()
        return self._estimate()

    def _still(self, reading: Reading) -> UpsEstimate:
        if self._still_since is None:
            self._still_since = self._readings[-1]
        still_s = reading.wall_s - self._still_since.wall_s
        is_paused = (
            self._is_paused
            or reading.is_paused_flag
            or reading.players_online == 0
            or still_s >= reading.resolution_ticks / self.min_ups
        )
        if is_paused:
            self._is_paused = True
            self._readings.clear()
            self._readings.append(reading)
            return UpsEstimate(None, is_paused=True)
        # Maybe just slow: keep the reading (it belongs in the window if the game moves again)
        # but withhold the estimate for now.
        self._readings.append(reading)
        return UpsEstimate(None, is_paused=False)

    def _estimate(self) -> UpsEstimate:
        oldest, newest = self._readings[0], self._readings[-1]
        span_s = newest.wall_s - oldest.wall_s
        ups = (newest.ticks - oldest.ticks) / span_s
        resolution = max(oldest.resolution_ticks, newest.resolution_ticks)
        error = (resolution + ups * (oldest.uncertainty_s + newest.uncertainty_s)) / span_s
        if error > self.max_error_ups:
            return UpsEstimate(None, is_paused=False, error_ups=error, window_s=span_s)
        return UpsEstimate(ups, is_paused=False, error_ups=error, window_s=span_s)


def ups_target(game_speed: float | None) -> float:
    """What UPS should be: 60 x ``game.speed`` (speed 1 when unknown)."""
    return TICKS_PER_SECOND * (1.0 if game_speed is None else game_speed)
