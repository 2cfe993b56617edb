"""UPS estimates from /time and game.tick readings."""

from __future__ import annotations

import math

from rcon_poller.ups import (
    TICK_RESOLUTION_TICKS,
    TIME_RESOLUTION_TICKS,
    Reading,
    UpsEstimator,
    ups_target,
)


def time_reading(wall_s: float, ups: float, *, players: int = 1) -> Reading:
    """What /time shows at wall_s for a game running at a constant ups since 0."""
    ticks = math.floor(ups * wall_s / 60) * 60.0
    return Reading(wall_s, ticks, TIME_RESOLUTION_TICKS, players_online=players)


def run(estimator: UpsEstimator, readings: list[Reading]):
    """Feed every reading; return every estimate."""
    return [estimator.add(r) for r in readings]


class TestTimeCommandMethod:
    def test_estimate_is_withheld_until_its_error_is_small(self):
        """With 5 s samples of /time, UPS appears once 30 s span bounds the error at 2 UPS."""
        estimator = UpsEstimator(window_s=60, max_error_ups=2)

        estimates = run(estimator, [time_reading(5.0 * i + 0.3, 60) for i in range(8)])

        assert [e.ups is None for e in estimates] == [True] * 6 + [False] * 2
        assert estimates[-1].error_ups is not None
        assert estimates[-1].error_ups <= 2

    def test_constant_ups_is_measured_within_the_stated_error(self):
        """Over a full window the estimate is within its error bound of the true UPS."""
        for true_ups in (60.0, 45.3, 30.0, 12.5):
            estimator = UpsEstimator(window_s=60)

            last = run(estimator, [time_reading(5.0 * i + 0.7, true_ups) for i in range(30)])[-1]

            assert last.ups is not None
            assert last.error_ups is not None
            assert abs(last.ups - true_ups) <= last.error_ups
            assert last.window_s is not None
            assert 55 <= last.window_s <= 60

    def test_a_slowdown_shows_within_one_window(self):
        """After dropping from 60 to 30 UPS the estimate reaches ~30 once the window passed."""
        estimator = UpsEstimator(window_s=60)
        readings = [time_reading(5.0 * i, 60) for i in range(13)]
        base_wall, base_ticks = readings[-1].wall_s, readings[-1].ticks
        for i in range(1, 14):
            wall = base_wall + 5.0 * i
            ticks = base_ticks + math.floor(30 * 5.0 * i / 60) * 60.0
            readings.append(Reading(wall, ticks, TIME_RESOLUTION_TICKS, players_online=1))

        last = run(estimator, readings)[-1]

        assert last.ups is not None
        assert abs(last.ups - 30) <= 2

    def test_standing_still_with_nobody_online_is_paused_at_once(self):
        """No progress while nobody is online is auto-pause, reported as paused, not 0 UPS."""
        estimator = UpsEstimator()
        run(estimator, [time_reading(5.0 * i, 60) for i in range(10)])

        estimate = estimator.add(Reading(50.0, 45 * 60.0, TIME_RESOLUTION_TICKS, players_online=0))

        assert estimate.is_paused
        assert estimate.ups is None

    def test_standing_still_with_players_is_withheld_then_paused(self):
        """With players online a still clock is first 'unknown', then paused after 12 s."""
        estimator = UpsEstimator(min_ups=5)
        run(estimator, [time_reading(5.0 * i, 60) for i in range(10)])
        frozen = estimator._readings[-1].ticks

        first = estimator.add(Reading(50.0, frozen, TIME_RESOLUTION_TICKS, players_online=2))
        second = estimator.add(Reading(55.0, frozen, TIME_RESOLUTION_TICKS, players_online=2))
        third = estimator.add(Reading(60.0, frozen, TIME_RESOLUTION_TICKS, players_online=2))

        assert (first.ups, first.is_paused) == (None, False)
        assert (second.ups, second.is_paused) == (None, False)
        assert third.is_paused

    def test_paused_time_never_lowers_the_estimate_after_unpausing(self):
        """After a pause the window restarts at the first moving reading: no false low UPS."""
        estimator = UpsEstimator()
        run(estimator, [time_reading(5.0 * i, 60) for i in range(10)])
        frozen = estimator._readings[-1].ticks
        run(
            estimator,
            [
                Reading(50.0 + 5 * i, frozen, TIME_RESOLUTION_TICKS, players_online=0)
                for i in range(6)
            ],
        )
        resumed = [
            Reading(
                80.0 + 5 * i, frozen + 60.0 * (1 + 5 * i), TIME_RESOLUTION_TICKS, players_online=1
            )
            for i in range(14)
        ]

        estimates = run(estimator, resumed)

        values = [e.ups for e in estimates if e.ups is not None]
        assert values
        assert min(values) >= 58

    def test_a_slow_server_is_not_mistaken_for_a_paused_one(self):
        """At 8 UPS (under one game second per 5 s sample) the server is measured, not paused."""
        estimator = UpsEstimator(min_ups=5)

        estimates = run(estimator, [time_reading(5.0 * i + 0.1, 8) for i in range(40)])

        assert not any(e.is_paused for e in estimates)
        last = estimates[-1]
        assert last.ups is not None
        assert abs(last.ups - 8) <= 2

    def test_going_backwards_starts_over(self):
        """A lower reading (server restarted) discards the window."""
        estimator = UpsEstimator()
        run(estimator, [time_reading(5.0 * i, 60) for i in range(10)])

        estimate = estimator.add(Reading(50.0, 0.0, TIME_RESOLUTION_TICKS, players_online=1))

        assert estimate.ups is None
        assert not estimate.is_paused


class TestTickMethod:
    def test_ticks_give_an_exact_estimate_after_one_interval(self):
        """With game.tick the first interval already bounds the error far below 1 UPS."""
        estimator = UpsEstimator()
        estimator.add(Reading(0.0, 1000.0, TICK_RESOLUTION_TICKS, 0.001))

        estimate = estimator.add(Reading(5.0, 1000.0 + 5 * 42, TICK_RESOLUTION_TICKS, 0.001))

        assert estimate.ups is not None
        assert abs(estimate.ups - 42) < 0.5

    def test_no_tick_progress_is_paused_at_once(self):
        """A tick that did not move over an interval is a pause (resolution is one tick)."""
        estimator = UpsEstimator()
        estimator.add(Reading(0.0, 1000.0, TICK_RESOLUTION_TICKS, players_online=3))

        assert estimator.add(
            Reading(5.0, 1000.0, TICK_RESOLUTION_TICKS, players_online=3)
        ).is_paused

    def test_tick_paused_flag_is_a_pause(self):
        """game.tick_paused is believed at once."""
        estimator = UpsEstimator()
        estimator.add(Reading(0.0, 1000.0, TICK_RESOLUTION_TICKS))

        estimate = estimator.add(
            Reading(1.0, 1000.0, TICK_RESOLUTION_TICKS, is_paused_flag=True, players_online=3)
        )

        assert estimate.is_paused


class TestTarget:
    def test_target_follows_game_speed(self):
        """The target is 60 at unknown or normal speed and scales with game.speed."""
        assert (
            ups_target(None),
            ups_target(1.0),
            ups_target(2.0),
            ups_target(0.5),
        ) == (60.0, 60.0, 120.0, 30.0)
